"""Every HTTP route and method of the function app, from the tables of `shop_operations` and
`manage_operations`. A test compares this with what `app.get_functions()` registers."""
from __future__ import annotations

from functions.contract.manage_operations import MANAGE_OPERATIONS
from functions.contract.shop_operations import SHOP_OPERATIONS

OPERATIONS: dict[str, dict[str, dict]] = {**SHOP_OPERATIONS, **MANAGE_OPERATIONS}
