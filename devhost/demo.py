"""A synthetic but realistic demo shop for `serve --demo`: a catalogue in a few categories and an order
history in which shoppers keep to their favourite categories, so recommendations have something to find."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from shared.domain.ports import PRODUCTS
from shared.domain.validation import format_timestamp

CATEGORIES = {
    "kitchen": ["Enamel Mug", "Tea Towel", "Cake Tin", "Measuring Spoons", "Jam Jar", "Bread Bin", "Apron"],
    "garden": ["Watering Can", "Seed Tray", "Bird Feeder", "Plant Pot", "Garden Gloves", "Trowel", "Lantern"],
    "party": ["Paper Bunting", "Party Cups", "Cake Candles", "Gift Wrap", "Balloon Set", "Napkins", "Crackers"],
    "home": ["Cushion Cover", "Photo Frame", "Doormat", "Wall Clock", "Candle Holder", "Storage Box", "Vase"],
    "stationery": ["Notebook", "Pencil Case", "Greeting Card", "Sticker Sheet", "Wrapping Tape", "Diary"],
    "toys": ["Spinning Top", "Skipping Rope", "Jigsaw", "Toy Tin Drum", "Marbles", "Kite", "Puppet"],
}
COLOURS = ["Red", "Blue", "Green", "Pink", "Ivory", "Polkadot", "Vintage", "Retro"]


def demo_catalogue(rng: random.Random) -> list[dict]:
    products = []
    for category, names in CATEGORIES.items():
        for name in names:
            for colour in rng.sample(COLOURS, 4):
                number = len(products) + 1
                products.append({
                    "id": f"P{number:04d}",
                    "title": f"{colour} {name}",
                    "category": category,
                    "price": round(rng.uniform(0.85, 24.95), 2),
                    "inStock": rng.random() > 0.05,
                })
    return products


def demo_orders(products: list[dict], rng: random.Random, users: int = 400, now: datetime | None = None):
    """Order request bodies (as a storefront would send them), oldest first."""
    now = now or datetime.now(timezone.utc)
    by_category: dict[str, list[dict]] = {}
    for product in products:
        by_category.setdefault(product["category"], []).append(product)
    # A long-tailed popularity inside each category, as in real shops.
    weights = {category: [1 / (rank + 1) ** 0.8 for rank in range(len(items))]
               for category, items in by_category.items()}
    orders = []
    for number in range(users):
        user_id = f"demo-user-{number:04d}"
        favourites = rng.sample(sorted(by_category), 2)
        for _ in range(rng.randint(1, 8)):
            lines = {}
            for _ in range(rng.randint(1, 5)):
                category = favourites[0] if rng.random() < 0.6 else (
                    favourites[1] if rng.random() < 0.7 else rng.choice(sorted(by_category)))
                product = rng.choices(by_category[category], weights[category])[0]
                lines[product["id"]] = {"productId": product["id"], "quantity": rng.randint(1, 6),
                                        "unitPrice": product["price"]}
            created = now - timedelta(days=rng.uniform(1, 180))
            orders.append({"userId": user_id, "items": list(lines.values()), "createdAt": format_timestamp(created),
                           "orderId": f"demo-{number:04d}-{len(orders):06d}"})
    orders.sort(key=lambda order: order["createdAt"])
    return orders


def load_demo(store, order_service, seed: int = 7, on_loaded=None) -> dict:
    """Catalogue and orders into the store; `on_loaded(orders)` then sees the order bodies."""
    rng = random.Random(seed)
    products = demo_catalogue(rng)
    store.upsert_many(PRODUCTS, products)
    orders = demo_orders(products, rng)
    for body in orders:
        order_service.place(body)
    if on_loaded is not None:
        on_loaded(orders)
    return {"products": len(products), "orders": len(orders)}
