// The studio without counting characters: "Split" splits where the cursor is in the block's
// text (or at the end of the selection), and the block's own text is saved with it. Without
// this script the "Split at character" field (or a blank line in the text) says where.
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=action][value=split]");
    if (!button) return;
    var form = button.form;
    var text = form.querySelector("textarea[name=text]");
    var at = form.querySelector("input[name=at]");
    if (!text || !at) return;
    var cursor = text.selectionEnd;
    if (cursor > 0 && cursor < text.value.length && Number(at.value) === 0) {
      at.value = String(cursor);
    }
  });
})();
