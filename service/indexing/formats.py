"""The file types Plansearch reads, by kind: the one list that the readers and the upload
check share (kept apart from the readers so that checking an upload loads no parser)."""

EXTENSIONS: dict[str, tuple[str, ...]] = {
    "pdf": (".pdf",),
    "docx": (".docx",),
    "html": (".html", ".htm"),
    "text": (".txt", ".md", ".markdown"),
}
