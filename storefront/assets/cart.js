// The shopper's cart, kept in this tab's session storage. A checkout uses one order id until it succeeds or the
// cart changes, so a double click or a retry after a network error is the same order (the API answers a repeated
// orderId with the same body as the one stored order).

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `web-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

export class Cart {
  constructor(userId) {
    this.key = `storefront.cart.${userId}`;
    const saved = JSON.parse(sessionStorage.getItem(this.key) ?? "null");
    this.lines = saved?.lines ?? [];
    this.pendingOrderId = saved?.pendingOrderId ?? null;
    this.listeners = [];
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  add(product) {
    const line = this.lines.find((item) => item.productId === product.productId);
    if (line) line.quantity = Math.min(line.quantity + 1, 99);
    else this.lines.push({ productId: product.productId, title: product.title, category: product.category,
      price: product.price, quantity: 1 });
    this.changed();
  }

  setQuantity(productId, quantity) {
    this.lines = this.lines
      .map((line) => (line.productId === productId ? { ...line, quantity } : line))
      .filter((line) => line.quantity > 0);
    this.changed();
  }

  count() {
    return this.lines.reduce((sum, line) => sum + line.quantity, 0);
  }

  total() {
    return this.lines.reduce((sum, line) => sum + (typeof line.price === "number" ? line.price * line.quantity : 0), 0);
  }

  // The order body for this cart, with the id this checkout keeps until it succeeds.
  order(userId) {
    this.pendingOrderId ??= randomId();
    this.save();
    return {
      orderId: this.pendingOrderId,
      userId,
      items: this.lines.map((line) => ({
        productId: line.productId, quantity: line.quantity,
        ...(typeof line.price === "number" ? { unitPrice: line.price } : {}),
      })),
    };
  }

  clear() {
    this.lines = [];
    this.changed();
  }

  changed() {
    this.pendingOrderId = null;   // a different body needs a different order id (the same id would be a 409)
    this.save();
    for (const listener of this.listeners) listener(this);
  }

  save() {
    sessionStorage.setItem(this.key, JSON.stringify({ lines: this.lines, pendingOrderId: this.pendingOrderId }));
  }
}
