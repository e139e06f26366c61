// Autocomplete for the search box: fills its <datalist> from /api/suggest as the reader types.
(function () {
  const input = document.querySelector("input[data-suggest]");
  if (!input) return;
  const list = document.getElementById(input.getAttribute("list"));
  let timer = null, last = "";
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      if (!q || q === last) return;
      last = q;
      const response = await fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q));
      if (!response.ok) return;
      const data = await response.json();
      list.replaceChildren(...data.suggestions.map((s) => Object.assign(document.createElement("option"), { value: s })));
    }, 150);
  });
})();
