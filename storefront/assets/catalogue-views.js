// Home (recommended for you, trending, popular) and the product page (similar, bought together).

import { ApiError, call, encode } from "./api.js";
import { addButton, el, formatPrice, shelf, tile } from "./cards.js";
import * as shopper from "./shopper.js";

const SHELF_SIZE = 8;

async function recommendedForYou(app) {
  const { data } = await call(`/api/users/${encode(app.shopper.userId)}/recommendations?k=${SHELF_SIZE}`, {
    auth: { bearer: app.shopper.token }, sessionToken: shopper.sessionToken(),
  });
  app.setFooter(`Recommendations: ${data.strategy} · model ${data.modelVersion ?? "none yet"}`);
  return data;
}

// An optional list: its section only when the app serves the route (config.features), hidden on a 404.
async function optionalList(enabled, path) {
  if (!enabled) return null;
  try {
    return (await call(path)).data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export async function renderHome(app, view) {
  const features = app.config.features ?? {};
  const [mine, trending, popular] = await Promise.all([
    recommendedForYou(app),
    optionalList(features.trending, `/api/recommendations/trending?k=${SHELF_SIZE}`),
    call(`/api/recommendations/popular?k=${SHELF_SIZE}`).then((result) => result.data),
  ]);
  const sections = [];
  if (app.notice) {
    sections.push(el("p", { class: "notice", role: "status", text: app.notice }));
    app.notice = null;
  }
  const note = app.refreshed ? "Updated for your last order" : (mine.strategy === "popular"
    ? "Buy something and this list becomes yours" : "Picked from what you bought");
  app.refreshed = false;
  const recommended = shelf({ title: "Recommended for you", testId: "recommendations", items: mine.items,
    onAdd: app.addToCart, note });
  recommended.dataset.strategy = mine.strategy;
  recommended.dataset.modelVersion = mine.modelVersion ?? "";
  sections.push(recommended);
  if (trending) {
    sections.push(shelf({ title: "Trending now", testId: "trending", items: trending.items, onAdd: app.addToCart }));
  }
  sections.push(shelf({ title: "Popular", testId: "popular", items: popular.items, onAdd: app.addToCart }));
  view.replaceChildren(...sections);
}

export async function renderProduct(app, view, productId) {
  let product;
  try {
    product = (await call(`/api/products/${encode(productId)}`)).data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      view.replaceChildren(el("section", { class: "panel" }, el("h1", { text: "Product not found" }),
        el("p", { text: `There is no product ${productId} in the catalogue.` }),
        el("a", { href: "#/", text: "Back to the shop" })));
      return;
    }
    throw error;
  }
  const features = app.config.features ?? {};
  const [similar, together] = await Promise.all([
    optionalList(true, `/api/products/${encode(productId)}/similar?k=6`),
    optionalList(features.boughtTogether, `/api/products/${encode(productId)}/bought-together?k=6`),
  ]);
  const details = el("section", { class: "product", "data-product-id": product.productId },
    tile(product, "large"),
    el("div", { class: "product-info" },
      el("p", { class: "category", text: product.category || "" }),
      el("h1", { text: product.title || product.productId }),
      el("p", { class: "price big", text: formatPrice(product.price) }),
      el("p", { class: "note", text: `Product ${product.productId}` }),
      addButton(product, app.addToCart)));
  const sections = [el("a", { href: "#/", class: "back", text: "← Back to the shop" }), details];
  sections.push(shelf({ title: "Similar products", testId: "similar", items: similar?.items ?? [], onAdd: app.addToCart,
    empty: "This product is newer than the model: no similar products yet." }));
  if (together) {
    sections.push(shelf({ title: "Bought together", testId: "bought-together", items: together.items,
      onAdd: app.addToCart }));
  }
  view.replaceChildren(...sections);
}
