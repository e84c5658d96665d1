// The storefront: sign-in, a hash router (#/, #/product/ID, #/orders) and the cart panel beside every view.

import { ApiError, loadConfig } from "./api.js";
import { el } from "./cards.js";
import { Cart } from "./cart.js";
import { renderCart } from "./cart-panel.js";
import { renderHome, renderProduct } from "./catalogue-views.js";
import { renderOrders } from "./orders-view.js";
import * as shopper from "./shopper.js";

const view = document.getElementById("view");
const account = document.getElementById("account");
const cartPanel = document.getElementById("cart");
const cartCount = document.getElementById("cart-count");
const footer = document.getElementById("strategy-line");

const app = {
  config: null,
  shopper: null,
  cart: null,
  notice: null,        // a one-off message for the next home view (e.g. "order placed")
  refreshed: false,    // the next home view follows an order: its recommendations reflect it
  setFooter(text) {
    footer.textContent = text;
  },
  toast(message, kind = "info") {
    const box = document.getElementById("toast");
    box.textContent = message;
    box.className = `toast ${kind} show`;
    clearTimeout(box.timer);
    box.timer = setTimeout(() => { box.className = "toast"; }, 3500);
  },
  addToCart(product) {
    if (!app.cart) return;
    app.cart.add(product);
    app.toast(`Added ${product.title || product.productId}`);
  },
  // A call failed: a refused shopper token signs the shopper out; anything else is shown.
  failed(error) {
    if (error instanceof ApiError && error.status === 401 && error.withToken) {
      shopper.signOut();
      app.notice = "Your session has ended: please sign in again.";
      start();
      return;
    }
    app.toast(error.message || String(error), "error");
  },
  afterOrder() {
    app.refreshed = true;
    if (location.hash === "#/" || location.hash === "") route();
    else location.hash = "#/";
  },
};

function renderAccount() {
  account.replaceChildren();
  if (!app.shopper) return;
  account.append(
    el("span", { class: "who" }, "Signed in as ", el("strong", { text: app.shopper.userId })),
    el("button", { type: "button", class: "link", onclick: () => {
      shopper.signOut();
      shopper.forgetSessionToken();
      start();
    } }, "Sign out"));
}

function renderSignIn() {
  const input = el("input", {
    id: "shopper-id", "data-testid": "shopper", name: "shopper", autocomplete: "username", required: true,
    maxlength: 128, placeholder: "a demo shopper, or a new id", list: "demo-shoppers",
  });
  const error = el("p", { class: "form-error", role: "alert" });
  const form = el("form", { class: "sign-in", onsubmit: async (event) => {
    event.preventDefault();
    const userId = input.value.trim();
    if (!userId) return;
    button.disabled = true;
    error.textContent = "";
    try {
      app.shopper = await shopper.signIn(userId);
      shopper.forgetSessionToken();
      await start();
    } catch (problem) {
      error.textContent = problem.message;
      button.disabled = false;
    }
  } });
  const button = el("button", { type: "submit", class: "primary", "data-testid": "sign-in" }, "Sign in");
  const demos = el("datalist", { id: "demo-shoppers" },
    ...(app.config.demoShoppers ?? []).map((id) => el("option", { value: id })));
  const chips = el("div", { class: "chips" }, el("span", { class: "note", text: "Demo shoppers:" }),
    ...(app.config.demoShoppers ?? []).map((id) => el("button", {
      type: "button", class: "chip", onclick: () => { input.value = id; input.focus(); },
    }, id)));
  form.append(...[el("h1", { text: "Welcome to the Corner Shop" }),
    el("p", { text: "Sign in as a demo shopper with a history, or as someone new: your recommendations follow "
      + "what you buy, right after you buy it." }),
    app.notice ? el("p", { class: "notice", text: app.notice }) : null,
    el("label", { for: "shopper-id", text: "Shopper id" }),
    el("div", { class: "row" }, input, button), demos, chips, error].filter(Boolean));
  app.notice = null;
  view.replaceChildren(form);
  app.setFooter("Not signed in");
}

async function route() {
  if (!app.shopper) return;
  const hash = location.hash || "#/";
  const product = hash.match(/^#\/product\/(.+)$/);
  document.querySelectorAll("nav a").forEach((link) => {
    link.classList.toggle("active", link.getAttribute("href") === (product ? "#/" : hash));
  });
  try {
    if (product) await renderProduct(app, view, decodeURIComponent(product[1]));
    else if (hash === "#/orders") await renderOrders(app, view);
    else await renderHome(app, view);
  } catch (error) {
    app.failed(error);
  }
  window.scrollTo({ top: 0 });
}

async function start() {
  app.config = await loadConfig();
  app.shopper = shopper.current();
  renderAccount();
  document.body.classList.toggle("signed-in", Boolean(app.shopper));
  if (!app.shopper) {
    app.cart = null;
    cartPanel.replaceChildren();
    renderSignIn();
    return;
  }
  app.cart = new Cart(app.shopper.userId);
  const update = () => {
    cartCount.textContent = String(app.cart.count());
    renderCart(app, cartPanel);
  };
  app.cart.onChange(update);
  update();
  await route();
}

window.addEventListener("hashchange", route);
document.getElementById("cart-button").addEventListener("click", () => {
  cartPanel.scrollIntoView({ behavior: "smooth", block: "start" });
});
start().catch((error) => {
  view.replaceChildren(el("p", { class: "form-error", text: `The shop cannot start: ${error.message}` }));
});
