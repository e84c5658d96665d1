"""function_app plus one more change feed trigger on orders, which writes down which process saw which order (to
RECORD_PATH): for the multi-process host test, served with `manage.py serve --app tests.integration.recording_app`."""
import json
import os

import azure.functions as func

from function_app import app

recorder = func.Blueprint()


@recorder.function_name("record_orders")
@recorder.cosmos_db_trigger(arg_name="documents", connection="CosmosDbConnection",
                            database_name="%COSMOS_DATABASE%", container_name="%COSMOS_ORDERS_CONTAINER%",
                            lease_container_name="%COSMOS_LEASES_CONTAINER%", lease_container_prefix="recorder-",
                            feed_poll_delay=200, start_from_beginning=True)
def record_orders(documents: func.DocumentList) -> None:
    with open(os.environ["RECORD_PATH"], "a", encoding="utf-8") as record:
        record.writelines(json.dumps([os.getpid(), doc["id"]]) + "\n" for doc in documents)


app.register_functions(recorder)
