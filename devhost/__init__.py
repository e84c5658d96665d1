"""The local functions host: serves function_app.py the way the Azure Functions host would."""
