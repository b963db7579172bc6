// The labeling page: walk the policy's decision tree one question at a time, with the keyboard.
// The server re-walks the submitted answers with the same tree (charter.policy.tree.walk).
(function () {
  "use strict";

  var tree = JSON.parse(document.getElementById("tree-data").textContent);
  var form = document.getElementById("label-form");
  var stepsBox = document.getElementById("steps");
  var submit = document.getElementById("submit");
  var storeKey = "charter-walk:" + form.getAttribute("action");
  var steps = [];      // [{node, answer}]
  var expired = false;

  function $(id) { return document.getElementById(id); }
  function humanize(answer) {
    var text = answer.replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  function plain(html) {
    var div = document.createElement("div");
    div.innerHTML = html;
    return div.textContent;
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function position() {
    var current = tree.root;
    steps.forEach(function (s) {
      var option = tree.nodes[s.node].options.find(function (o) { return o.answer === s.answer; });
      current = option.target;
    });
    return current;
  }

  function restore() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(storeKey) || "[]");
      var current = tree.root;
      for (var i = 0; i < saved.length; i++) {
        var node = tree.nodes[current];
        if (!node || saved[i].node !== current) { break; }
        var option = node.options.find(function (o) { return o.answer === saved[i].answer; });
        if (!option) { break; }
        steps.push({ node: current, answer: option.answer });
        current = option.target;
      }
    } catch (e) { steps = []; }
  }

  function answer(option) {
    if (expired) { return; }
    var current = position();
    if (!tree.nodes[current]) { return; }
    steps.push({ node: current, answer: option.answer });
    render();
  }

  function back(toIndex) {
    if (!steps.length) { return; }
    steps = steps.slice(0, toIndex === undefined ? steps.length - 1 : toIndex);
    render();
  }

  function renderQuestion(nodeId) {
    var node = tree.nodes[nodeId];
    $("question").hidden = false;
    $("outcome").hidden = true;
    $("q-node").textContent = nodeId;
    $("q-kind").textContent = node.type === "yes_no" ? "yes / no" : "choose one";
    $("q-text").innerHTML = node.question;
    $("q-guidance").hidden = !node.guidance;
    $("q-guidance").innerHTML = node.guidance || "";
    var box = $("answers");
    box.innerHTML = "";
    box.className = "answers" + (node.type === "yes_no" ? " yes-no" : "");
    node.options.forEach(function (option, index) {
      var button = el("button", "answer-btn " + option.answer);
      button.type = "button";
      button.setAttribute("data-answer", option.answer);
      var key = option.key || String(index + 1);
      button.appendChild(el("kbd", "", key.toUpperCase()));
      button.appendChild(el("span", "", humanize(option.answer)));
      button.appendChild(el("span", "target", "→ " + option.target));
      button.addEventListener("click", function () { answer(option); });
      button.disabled = expired;
      box.appendChild(button);
    });
    $("step-count").textContent = "Question " + (steps.length + 1);
  }

  function renderOutcome(outcomeId) {
    var outcome = tree.outcomes[outcomeId];
    $("question").hidden = true;
    var box = $("outcome");
    box.hidden = false;
    box.className = "outcome " + outcome.label;
    $("o-id").textContent = outcomeId;
    var label = $("o-label");
    label.className = "badge " + outcome.label;
    label.textContent = outcome.label.replace(/_/g, " ");
    var rules = $("o-rules");
    rules.innerHTML = "";
    if (!outcome.rules.length) { rules.appendChild(el("span", "muted", "none")); }
    outcome.rules.forEach(function (rule) {
      var line = el("div");
      line.appendChild(el("span", "chip rule-chip", rule.id));
      line.appendChild(document.createTextNode(" " + rule.title));
      rules.appendChild(line);
    });
    $("o-action").innerHTML = "";
    if (outcome.action) {
      $("o-action").appendChild(el("code", "", outcome.action));
      if (outcome.action_kind && outcome.action_kind !== outcome.action) {
        $("o-action").appendChild(el("span", "muted small", " (" + outcome.action_kind.replace(/_/g, " ") + ")"));
      }
    } else { $("o-action").appendChild(el("span", "muted", "—")); }
    document.querySelectorAll(".o-escalate").forEach(function (n) { n.hidden = !outcome.escalate; });
    if (outcome.escalate) {
      var esc = $("o-escalate");
      esc.innerHTML = "";
      esc.appendChild(el("span", "chip", outcome.escalate));
      if (outcome.reason) { var why = el("span", "muted"); why.innerHTML = " " + outcome.reason; esc.appendChild(why); }
    }
    $("o-note").hidden = !outcome.note;
    $("o-note").innerHTML = outcome.note || "";
    $("step-count").textContent = "Outcome after " + steps.length + (steps.length === 1 ? " answer" : " answers");
    outcome.rules.forEach(function (rule, index) {
      var card = document.getElementById("rule-" + rule.id);
      if (!card) { return; }
      card.classList.add("highlight");
      if (index === 0 && !card.closest(".tab-panel").hidden) { card.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
    });
  }

  function renderPath() {
    var list = $("path");
    list.innerHTML = "";
    if (!steps.length) {
      var empty = el("li", "muted small path-empty", "No answers yet. Start at ");
      empty.appendChild(el("span", "chip", tree.root));
      list.appendChild(empty);
    }
    steps.forEach(function (s, index) {
      var item = el("li", "step");
      item.title = "Go back to this question";
      var q = el("div", "step-q");
      q.appendChild(el("span", "chip", s.node));
      q.appendChild(document.createTextNode(plain(tree.nodes[s.node].question)));
      item.appendChild(q);
      item.appendChild(el("span", "answer-pill", humanize(s.answer)));
      item.addEventListener("click", function () { back(index); });
      list.appendChild(item);
    });
  }

  function renderChart(current) {
    document.querySelectorAll("svg [data-box], svg [data-edge]").forEach(function (n) {
      n.classList.remove("on-path", "current");
    });
    steps.forEach(function (s) {
      var box = document.querySelector('svg [data-box="' + s.node + '"]');
      var edge = document.querySelector('svg [data-edge="' + s.node + ":" + s.answer + '"]');
      if (box) { box.classList.add("on-path"); }
      if (edge) { edge.classList.add("on-path"); }
    });
    var here = document.querySelector('svg [data-box="' + current + '"]');
    if (here) { here.classList.add("current"); }
  }

  function render() {
    document.querySelectorAll(".rule.highlight").forEach(function (n) { n.classList.remove("highlight"); });
    var current = position();
    var done = !!tree.outcomes[current];
    if (done) { renderOutcome(current); } else { renderQuestion(current); }
    renderPath();
    renderChart(current);
    stepsBox.innerHTML = "";
    steps.forEach(function (s) {
      var input = el("input");
      input.type = "hidden";
      input.name = "step";
      input.value = s.node + "=" + s.answer;
      stepsBox.appendChild(input);
    });
    submit.disabled = !done || expired;
    $("submit-hint").textContent = expired ? "The lease expired; this label can no longer be saved."
      : done ? "Check the outcome, add a note if useful, then submit."
      : "Answer every question to reach an outcome.";
    $("back").disabled = !steps.length;
    $("restart").disabled = !steps.length;
    try { sessionStorage.setItem(storeKey, JSON.stringify(steps)); } catch (e) { /* private mode */ }
  }

  $("back").addEventListener("click", function () { back(); });
  $("restart").addEventListener("click", function () { back(0); });
  form.addEventListener("submit", function (event) {
    if (submit.disabled) { event.preventDefault(); return; }
    submit.disabled = true;
    try { sessionStorage.removeItem(storeKey); } catch (e) { /* private mode */ }
  });

  // ------------------------------------------------------------ guideline tabs and terms
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".tab"));
  function selectTab(tab) {
    tabs.forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
  }
  tabs.forEach(function (tab) { tab.addEventListener("click", function () { selectTab(tab); }); });
  var definitions = {};
  document.querySelectorAll(".glossary dt").forEach(function (dt) {
    definitions[dt.id] = dt.nextElementSibling ? dt.nextElementSibling.textContent : "";
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.term") : null;
    if (!link) { return; }
    event.preventDefault();
    var id = link.getAttribute("href").slice(1);
    selectTab(document.getElementById("tab-terms-btn"));
    var target = document.getElementById(id);
    if (target) {
      target.scrollIntoView({ block: "center" });
      target.classList.add("flash-target");
      setTimeout(function () { target.classList.remove("flash-target"); }, 1600);
    }
  });
  document.addEventListener("mouseover", function (event) {
    var link = event.target.closest ? event.target.closest("a.term") : null;
    if (link && !link.title) { link.title = definitions[link.getAttribute("href").slice(1)] || ""; }
  });

  // ------------------------------------------------------------ lease countdown
  var lease = $("lease");
  if (lease) {
    var deadline = Date.now() + parseInt(lease.getAttribute("data-seconds"), 10) * 1000;
    var clock = $("lease-clock");
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      clock.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      lease.classList.toggle("warn", left > 0 && left <= 120);
      if (left === 0 && !expired) {
        expired = true;
        lease.classList.add("expired");
        clock.textContent = "expired";
        $("lease-expired").hidden = false;
        document.querySelectorAll("#skip-button, .taskbar form button").forEach(function (b) { b.disabled = true; });
        render();
        return;
      }
      if (!expired) { setTimeout(tick, 1000); }
    };
    tick();
  }

  // ------------------------------------------------------------ keyboard
  var skipDialog = $("skip-dialog");
  var helpDialog = $("help-dialog");
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.metaKey) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    var choice = tag === "input" && /^(radio|checkbox)$/.test(event.target.type);
    var typing = (tag === "input" && !choice) || tag === "textarea" || tag === "select";
    var openDialog = document.querySelector("dialog[open]");
    if (openDialog) {
      if (openDialog === skipDialog && !typing && /^[1-9]$/.test(event.key)) {
        var radios = skipDialog.querySelectorAll('input[name="reason"]');
        var radio = radios[parseInt(event.key, 10) - 1];
        if (radio) { radio.checked = true; event.preventDefault(); if (radio.value === "Other") { $("skip-detail").focus(); } }
      }
      return;
    }
    if (typing) {
      if (event.key === "Escape") { event.target.blur(); }
      if (event.key === "Enter" && event.ctrlKey && !submit.disabled) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey) { return; }
    var key = event.key.toLowerCase();
    var current = position();
    var node = tree.nodes[current];
    if (node) {
      var option = node.options.find(function (o, i) { return o.key === key || String(i + 1) === key; });
      if (option) { event.preventDefault(); answer(option); return; }
    }
    if (event.key === "Backspace") { event.preventDefault(); back(); return; }
    if (event.key === "Enter" && tree.outcomes[current] && !submit.disabled) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (key === "s" && skipDialog && !expired) { event.preventDefault(); skipDialog.showModal(); return; }
    if (event.key === "?") { event.preventDefault(); helpDialog.showModal(); return; }
    if (key === "v") { event.preventDefault(); window.charterRevealAll(); return; }
    if (key === "g") {
      event.preventDefault();
      var at = tabs.findIndex(function (t) { return t.getAttribute("aria-selected") === "true"; });
      selectTab(tabs[(at + 1) % tabs.length]);
    }
  });
  if (skipDialog) {
    $("skip-form").addEventListener("submit", function (event) {
      var chosen = skipDialog.querySelector('input[name="reason"]:checked');
      if (chosen && chosen.value === "Other" && !$("skip-detail").value.trim()) {
        event.preventDefault();
        $("skip-detail").focus();
        $("skip-detail").setAttribute("placeholder", "Say why you are skipping");
      }
    });
  }

  restore();
  render();
})();
