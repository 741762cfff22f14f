// The worklist's filters are folded away on a phone (a <details> closed unless a filter is set)
// and open on a wider screen; without JavaScript they stay folded, one tap away.
(function () {
  var wide = window.matchMedia && window.matchMedia("(min-width: 721px)").matches;
  if (!wide) return;
  var boxes = document.querySelectorAll("details[data-open-wide]");
  for (var i = 0; i < boxes.length; i++) boxes[i].open = true;
})();
