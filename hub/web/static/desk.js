// Order form: customer and SKU suggestions with live availability; one more line row.
(() => {
  const fetchJson = async (url) => (await fetch(url, { credentials: "same-origin" })).json();
  const debounce = (fn, ms) => (el) => { clearTimeout(el.dataset.timer); el.dataset.timer = setTimeout(() => fn(el), ms); };
  const fill = (list, options) => { list.replaceChildren(...options.map(([value, label]) => Object.assign(document.createElement("option"), { value, textContent: label }))); };
  const onCustomer = debounce(async (input) => {
    const q = input.value.split(" — ")[0].trim();
    if (!q) return;
    const { accounts } = await fetchJson(`/desk/customers.json?q=${encodeURIComponent(q)}`);
    fill(document.getElementById("accounts"), accounts.map((a) => [a.number, `${a.number} — ${a.name}`]));
    const picked = accounts.find((a) => a.number === q);
    const select = document.getElementById("address_id");
    if (picked && select) fill(select, [["", "the account's default address"], ...picked.addresses.map((d) => [String(d.id), `${d.label || "address"}: ${d.text}${d.default ? " (default)" : ""}`])]);
  }, 200);
  const lookUp = async (input) => {
    const q = input.value.trim(), note = input.parentElement.querySelector(".avail");
    if (!q) { note.textContent = ""; return; }
    const { skus } = await fetchJson(`/desk/skus.json?q=${encodeURIComponent(q)}`);
    fill(document.getElementById("skus"), skus.map((s) => [s.sku, s.title || s.sku]));
    const hit = skus.find((s) => s.sku.toLowerCase() === q.toLowerCase());
    const where = hit ? hit.locations.map((l) => `${l.name} ${l.free}`).join(" · ") : "";
    note.textContent = hit ? (where ? `free now: ${where}` : "no stock anywhere") : (skus.length ? "" : "no such SKU");
  };
  const onSku = debounce(lookUp, 200);
  document.querySelectorAll('[data-search="skus"]').forEach((i) => { if (i.value) lookUp(i); });
  document.addEventListener("input", (e) => {
    const kind = e.target.dataset && e.target.dataset.search;
    if (kind === "customers") onCustomer(e.target);
    if (kind === "skus") onSku(e.target);
  });
  document.addEventListener("click", (e) => {
    if (!e.target.matches("[data-add-line]")) return;
    const body = document.getElementById("line-rows"), n = body.rows.length, row = body.rows[n - 1].cloneNode(true);
    row.querySelectorAll("input").forEach((i) => { delete i.dataset.timer; i.name = i.name.replace(/\[\d+\]/, `[${n}]`); i.value = ""; i.removeAttribute("aria-invalid"); });
    row.querySelectorAll(".field-error").forEach((x) => x.remove());
    row.querySelector(".avail").textContent = "";
    body.appendChild(row);
  });
})();
