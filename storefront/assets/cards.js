// Product cards and their generated picture: a tile coloured by category with the product's initials (the
// catalogue has no images).

const CATEGORY_HUES = { kitchen: 18, garden: 130, party: 320, home: 205, stationery: 45, toys: 265 };
const money = new Intl.NumberFormat("en-GB", { style: "currency", currency: "GBP" });

export function formatPrice(price) {
  return typeof price === "number" ? money.format(price) : "";
}

function hueFor(category) {
  if (!category) return 220;
  if (category in CATEGORY_HUES) return CATEGORY_HUES[category];
  let hash = 0;
  for (const char of category) hash = (hash * 31 + char.codePointAt(0)) % 360;
  return hash;
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

export function tile(product, size = "") {
  const words = (product.title || product.productId || "?").split(/\s+/).filter(Boolean);
  const initials = words.slice(-2).map((word) => word[0]).join("").toUpperCase();
  return el("div", {
    class: `tile ${size}`.trim(), style: `--hue: ${hueFor(product.category)}`, "aria-hidden": "true",
  }, el("span", { text: initials }));
}

export function productLink(productId) {
  return `#/product/${encodeURIComponent(productId)}`;
}

// A card for a list; `onAdd(product)` puts it in the cart.
export function productCard(product, onAdd) {
  const title = product.title || product.productId;
  return el("article", { class: "card", "data-product-id": product.productId },
    el("a", { href: productLink(product.productId), class: "card-link" },
      tile(product),
      el("span", { class: "card-title", text: title })),
    el("div", { class: "card-meta" },
      el("span", { class: "category", text: product.category || "" }),
      el("span", { class: "price", text: formatPrice(product.price) })),
    addButton(product, onAdd, "small"));
}

export function addButton(product, onAdd, size = "") {
  const inStock = product.inStock !== false;
  return el("button", {
    type: "button", class: `add ${size}`.trim(), "data-testid": "add-to-cart",
    "data-product-id": product.productId, disabled: !inStock,
    onclick: () => onAdd(product),
  }, inStock ? "Add to cart" : "Out of stock");
}

// A titled row of cards; `items` may be empty (a short note shows instead).
export function shelf({ title, testId, items, onAdd, note, empty = "Nothing to show yet." }) {
  const section = el("section", { class: "shelf", "data-testid": testId },
    el("div", { class: "shelf-head" }, el("h2", { text: title }),
      note ? el("span", { class: "note", text: note }) : null));
  const grid = el("div", { class: "grid" });
  if (items.length === 0) grid.append(el("p", { class: "empty", text: empty }));
  for (const item of items) grid.append(productCard(item, onAdd));
  section.append(grid);
  return section;
}
