// The cart beside every view, and checkout: `POST /api/orders` with the cart's order id. The response's
// `X-Session-Token` is kept and sent on the next reads, so they see this order on any instance.

import { call } from "./api.js";
import { el, formatPrice, productLink, tile } from "./cards.js";
import * as shopper from "./shopper.js";

let placing = false;   // one checkout at a time; the order id makes a repeat harmless anyway

async function checkout(app, button) {
  if (placing || app.cart.count() === 0) return;
  placing = true;
  button.disabled = true;
  button.textContent = "Placing order…";
  try {
    const { data, headers } = await call("/api/orders", {
      method: "POST", body: app.cart.order(app.shopper.userId), auth: { bearer: app.shopper.token },
    });
    shopper.rememberSessionToken(headers.get("X-Session-Token"));
    app.cart.clear();
    app.notice = `Thank you! Order ${data.orderId} is placed: ${data.items.length} product`
      + `${data.items.length === 1 ? "" : "s"}.`;
    app.afterOrder();
  } catch (error) {
    app.failed(error);   // the cart and its order id stay: checking out again retries the same order
  } finally {
    placing = false;
    button.disabled = app.cart.count() === 0;
    button.textContent = "Check out";
  }
}

export function renderCart(app, panel) {
  const cart = app.cart;
  const lines = el("ul", { class: "cart-lines" });
  for (const line of cart.lines) {
    lines.append(el("li", { class: "cart-line", "data-product-id": line.productId },
      tile(line, "small"),
      el("div", { class: "cart-line-text" },
        el("a", { href: productLink(line.productId), text: line.title || line.productId }),
        el("span", { class: "note", text: `${formatPrice(line.price)} each` })),
      el("div", { class: "quantity" },
        el("button", { type: "button", class: "step", "aria-label": "One less",
          onclick: () => cart.setQuantity(line.productId, line.quantity - 1) }, "−"),
        el("span", { text: String(line.quantity) }),
        el("button", { type: "button", class: "step", "aria-label": "One more",
          onclick: () => cart.setQuantity(line.productId, Math.min(line.quantity + 1, 99)) }, "+"))));
  }
  const button = el("button", { type: "button", class: "primary wide", "data-testid": "checkout",
    disabled: cart.count() === 0 || placing }, placing ? "Placing order…" : "Check out");
  button.addEventListener("click", () => checkout(app, button));
  panel.replaceChildren(
    el("h2", { text: "Your cart" }),
    cart.lines.length ? lines : el("p", { class: "empty", text: "Your cart is empty." }),
    el("div", { class: "cart-total" }, el("span", { text: "Total" }),
      el("strong", { text: formatPrice(cart.total()) })),
    button);
}
