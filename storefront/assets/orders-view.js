// Order history: the shopper's orders, newest first, with titles from the catalogue.

import { ApiError, call, encode } from "./api.js";
import { el, formatPrice, productLink } from "./cards.js";
import * as shopper from "./shopper.js";

const titles = new Map();   // productId -> a promise of the catalogue entry (or null)

function describe(productId) {
  if (!titles.has(productId)) {
    titles.set(productId, call(`/api/products/${encode(productId)}`).then((result) => result.data).catch((error) => {
      if (error instanceof ApiError && error.status === 404) return null;
      titles.delete(productId);   // try again next time
      return null;
    }));
  }
  return titles.get(productId);
}

const dateFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });

export async function renderOrders(app, view) {
  const { data } = await call(`/api/users/${encode(app.shopper.userId)}/orders?limit=20`, {
    auth: { bearer: app.shopper.token }, sessionToken: shopper.sessionToken(),
  });
  const section = el("section", { class: "panel orders", "data-testid": "orders" }, el("h1", { text: "Your orders" }));
  if (data.items.length === 0) section.append(el("p", { class: "empty", text: "No orders yet." }));
  const products = new Map();
  const ids = [...new Set(data.items.flatMap((order) => order.items.map((item) => item.productId)))];
  await Promise.all(ids.map(async (id) => products.set(id, await describe(id))));
  for (const order of data.items) {
    const total = order.items.reduce((sum, item) => sum + (item.unitPrice ?? 0) * item.quantity, 0);
    section.append(el("article", { class: "order", "data-order-id": order.orderId },
      el("header", {},
        el("strong", { text: dateFormat.format(new Date(order.createdAt)) }),
        el("span", { class: "note", text: `Order ${order.orderId}` }),
        el("span", { class: "price", text: formatPrice(total) })),
      el("ul", {}, ...order.items.map((item) => el("li", {},
        el("span", { class: "qty", text: `${item.quantity} ×` }),
        el("a", { href: productLink(item.productId), text: products.get(item.productId)?.title ?? item.productId }),
        el("span", { class: "note", text: formatPrice(item.unitPrice) }))))));
  }
  if (data.continuationToken) section.append(el("p", { class: "note", text: "Showing your 20 latest orders." }));
  view.replaceChildren(section);
}
