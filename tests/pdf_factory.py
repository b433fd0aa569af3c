"""Real test documents made on the fly: PDFs with fpdf2, Word files with python-docx,
and HTML. Each helper writes a file and returns its path; the module-level constants
are the texts the tests look for in what the readers return."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from service.indexing.documents import Block

RUNNING_HEADER = "NHS Example ICS — Five Year Plan"
BODY_SIZE = 10
H1_SIZE = 16
H2_SIZE = 13

# The report, page by page: (heading, level, paragraphs) for each section. fpdf2 wraps
# every paragraph, except where it holds an explicit "\n".
Section = tuple[str, int, list[str]]
REPORT_PAGES: list[list[Section]] = [
    [
        ("1 Introduction", 1, [
            "This plan sets out how the partners of the NHS Example integrated care system will "
            "improve health outcomes for the people they serve over the next five years. It was "
            "written with residents, clinicians and local councils during the spring of 2024.",
            "The partners agreed three shared aims: to help people stay well for longer, to join "
            "up care around the person, and to spend every pound where it does the most good.",
        ]),
        ("1.1 How the plan was written", 2, [
            # the explicit break after "neighbour-" is the hyphenated line break under test
            "Local people told us that they wanted care delivered by neighbour-\n"
            "hood teams close to home, with fewer trips to the district hospital.",
            "Over four hundred residents joined the listening events held in libraries, "
            "community centres and the market hall between February and April.",
        ]),
    ],
    [
        ("2 Our priorities", 1, [
            "The first priority is prevention. Smoking cessation services will be offered to "
            "every inpatient who smokes, and alcohol care teams will work in both acute "
            "hospitals.",
            "The second priority is urgent and emergency care. Same day emergency care units "
            "will open seven days a week so that fewer patients are admitted overnight.",
            "The third priority is mental health. Crisis cafes will open in each of the four "
            "towns and the crisis line will answer within two minutes at any hour.",
        ]),
        ("2.1 Money", 2, [
            "The table below shows how the transformation budget for the first year is divided "
            "between the programmes and who leads each of them.",
        ]),
    ],
    [
        ("3 Delivering the plan", 1, [
            "A delivery board chaired by the chief executive will meet every month and publish "
            "a short report of progress against each of the commitments in this plan.",
            "Each programme will name a senior responsible owner, a clinical lead and a patient "
            "representative who together sign off the programme's annual milestones.",
        ]),
    ],
    [
        ("3.1 Measuring progress", 2, [
            "We will measure progress with a small set of outcome measures that matter to "
            "residents, such as healthy life expectancy and the time waited for a first "
            "appointment.",
            "The measures and their baselines are listed in the appendix, with the source of "
            "each figure so that anyone can check them against the published national "
            "statistics.",
        ]),
    ],
]
TABLE_AFTER = "2.1 Money"  # the ruled table follows this section's paragraphs

HYPHEN_JOINED = "neighbourhood teams close to home"

TABLE_ROWS = [
    ("Programme", "Budget 2024/25", "Lead"),
    ("Urgent care", "£12.5m", "Dr Amara Okafor"),
    ("Mental health", "£8.1m", "Professor Lena Whitcombe"),
    ("Prevention", "£3.4m", "Councillor Tobias Renfrew"),
]
TABLE_PAGE = 2

LEFT_COLUMN_SENTENCE = (
    "Community diagnostic centres will open in Ashford, Bexley and Crayford by March 2026 so "
    "that residents of the eastern towns wait less than six weeks for a scan of any kind."
)
LEFT_COLUMN = (
    LEFT_COLUMN_SENTENCE + " Each centre will offer blood tests, x-ray and ultrasound on the "
    "same visit, and results will reach the family doctor within two working days."
)
RIGHT_COLUMN = (
    "Workforce plans in the western district focus on recruiting nurses from local colleges, "
    "with paid placements, a guaranteed first post and help with housing costs for the first "
    "two years. Retention payments will reward staff who stay for five years or longer."
)
TWO_COLUMN_HEADING = "4 Local delivery"

PAGE_LABELS = ["i", "1", "2", "3", "4"]  # roman front page, then arabic from 1


APPENDIX_HEADING = "Appendix A Outcome measures"
APPENDIX_SENTENCES = [
    "Measure {n} tracks the share of residents in ward {n} who report good health.",
    "The baseline for measure {n} comes from the 2021 census and the GP patient survey.",
    "Progress on measure {n} is reported to the delivery board every quarter.",
    "Where measure {n} falls behind its trajectory, the programme lead writes a recovery plan.",
    "Residents can see measure {n} on the public dashboard, with the method used to calculate it.",
    "Partners agreed that measure {n} should be read together with the inequality gap for it.",
]


def appendix_paragraph(n: int) -> str:
    """A paragraph of about 110 model tokens; two never fit one 180-token chunk."""
    return " ".join(sentence.format(n=n) for sentence in APPENDIX_SENTENCES)


class ReportPDF(FPDF):
    """Report styling: running header on top, "Page N of M" at the bottom."""

    def header(self) -> None:
        self.set_font("helvetica", "I", 8)
        self.cell(0, 6, RUNNING_HEADER, align="C", new_x="LMARGIN", new_y="NEXT")
        self.ln(6)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("helvetica", "", 8)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")


def _new_pdf() -> ReportPDF:
    pdf = ReportPDF(format="A4")
    # Helvetica in WinAnsi: the em dash and £ survive without shipping a TTF font
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_auto_page_break(auto=True, margin=25)
    pdf.set_title("NHS Example ICS Five Year Plan 2024 to 2029")
    return pdf


def _heading(pdf: FPDF, text: str, level: int) -> None:
    pdf.set_font("helvetica", "B", H1_SIZE if level == 1 else H2_SIZE)
    pdf.ln(3)
    pdf.multi_cell(0, 8, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font("helvetica", "", BODY_SIZE)
    pdf.multi_cell(0, 5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _table(pdf: FPDF) -> None:
    pdf.set_font("helvetica", "", BODY_SIZE)
    with pdf.table(col_widths=(60, 40, 80), text_align="LEFT",
                   headings_style=FontFace(emphasis="BOLD")) as table:
        for values in TABLE_ROWS:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.ln(4)


def _two_column_page(pdf: FPDF) -> None:
    pdf.add_page()
    _heading(pdf, TWO_COLUMN_HEADING, 1)
    top = pdf.get_y() + 2
    pdf.set_font("helvetica", "", BODY_SIZE)
    # two 85 mm columns with a 20 mm gutter, both starting at the same height
    pdf.set_xy(10, top)
    pdf.multi_cell(85, 5, LEFT_COLUMN, align="L")
    pdf.set_xy(115, top)
    pdf.multi_cell(85, 5, RIGHT_COLUMN, align="L")


def make_report_pdf(path: Path, *, two_column: bool = False, page_labels: bool = False,
                    appendix_paragraphs: int = 0) -> Path:
    """A numbered-heading plan over four pages with a ruled table on page 2; optionally a
    two-column fifth page, /PageLabels (i, 1, 2, ...), and an appendix of long paragraphs
    that flows over as many further pages as it needs."""
    pdf = _new_pdf()
    for number, sections in enumerate(REPORT_PAGES, start=1):
        pdf.add_page()
        if page_labels:
            if number == 1:
                pdf.set_page_label(label_style="r")
            elif number == 2:
                pdf.set_page_label(label_style="D", label_start=1)
        for heading, level, paragraphs in sections:
            _heading(pdf, heading, level)
            for text in paragraphs:
                _paragraph(pdf, text)
            if heading == TABLE_AFTER:
                _table(pdf)
    if two_column:
        _two_column_page(pdf)
    if appendix_paragraphs:
        pdf.add_page()
        _heading(pdf, APPENDIX_HEADING, 1)
        for n in range(1, appendix_paragraphs + 1):
            _paragraph(pdf, appendix_paragraph(n))
    pdf.output(str(path))
    return path


def report_blocks(two_column: bool = False) -> list[list[Block]]:
    """What a perfect reader returns for `make_report_pdf` without an appendix: the blocks
    of each page, with the hyphenated break mended and the table as rows."""
    pages = []
    for sections in REPORT_PAGES:
        blocks = []
        for heading, level, paragraphs in sections:
            blocks.append(Block(heading, level))
            blocks += [Block(text.replace("-\n", "").replace("\n", " ")) for text in paragraphs]
            if heading == TABLE_AFTER:
                blocks += [Block(" | ".join(row)) for row in TABLE_ROWS]
        pages.append(blocks)
    if two_column:
        pages.append([Block(TWO_COLUMN_HEADING, 1), Block(LEFT_COLUMN), Block(RIGHT_COLUMN)])
    return pages


def make_encrypted_pdf(path: Path) -> Path:
    """A text PDF that needs the user password "x" to open."""
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner-secret", user_password="x")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 6, "Confidential board paper about the winter plan.")
    pdf.output(str(path))
    return path


def make_truncated_pdf(path: Path, source: Path) -> Path:
    """The first half of a good PDF's bytes: no cross-reference table, no trailer."""
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_image_only_pdf(path: Path, pages: int = 2) -> Path:
    """Pages holding only drawings and a picture: a scan with no text layer."""
    from PIL import Image

    picture = Image.new("RGB", (120, 80), (200, 30, 30))
    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(40, 90, 160)
        pdf.rect(20, 20, 170, 100, style="F")
        pdf.image(picture, x=30, y=140, w=120)
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    """A Word file: a title, two heading levels, paragraphs and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Example Place Partnership Plan"
    document.add_heading("Example Place Partnership Plan", level=0)
    document.add_heading("1 Our ambitions", level=1)
    document.add_paragraph("We will close the gap in healthy life expectancy between the "
                           "richest and poorest wards by 2030.")
    document.add_heading("1.1 Children and young people", level=2)
    document.add_paragraph("Every secondary school will have a mental health support team.")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(table.rows, [("Service", "Sites", "Opening"),
                                        ("Family hubs", "6", "2025"),
                                        ("School nursing", "14", "2024")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("The hubs will be run jointly with the county council.")
    document.save(str(path))
    return path


# No <main>: the reader has to drop the navigation, header, footer and scripts itself.
HTML_PAGE = """<!doctype html>
<html><head><title>Example ICB | Winter plan</title>
<script>var tracking = "SCRIPT-MARKER";</script>
<style>.x { color: red } /* STYLE-MARKER */</style></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">NAV-MARKER news</a></li></ul></nav>
<header><p>HEADER-MARKER Example ICB</p></header>
<div class="content">
<h1>Winter plan 2024/25</h1>
<p>Extra beds will open in December at both acute hospitals.</p>
<script>document.write("SCRIPT-MARKER two");</script>
<h2>Urgent community response</h2>
<p>The two-hour urgent community response service will run from <b>8am</b> to 8pm.</p>
<ul><li>Virtual wards for frailty</li><li><p>Falls pick-up service</p></li></ul>
<table><tr><th>Site</th><th>Beds</th></tr><tr><td>North Hospital</td><td>24</td></tr></table>
</div>
<footer><p>FOOTER-MARKER Copyright Example ICB</p></footer>
</body></html>
"""


def make_html(path: Path) -> Path:
    path.write_text(HTML_PAGE, encoding="utf-8")
    return path


# -- reader fidelity (issue #11): each layout below once broke the reader ----------------

SUPERSCRIPT_SENTENCE = ("The Library will close on 1st September 2016 and re-open on 19th "
                        "September 2016.")
COMPLAINTS_LEAD = "Complaints at any point in the process should be submitted to:"
CONTACT_LINES = ["Telephone: 0300 311 22 33", "Email: england.contactus@nhs.net",
                 "General Post: NHS England, PO Box 16738, Redditch, B97 9PT"]
BOLD_HEADING = "Reconsideration by the panel"
NUMBERED_BOLD_HEADING = "6. Flexible Retirement"  # numbered like a list item, yet a title
SIGNATURE_LINE = "Mark Seaton, Planned Care Workstream Programme Lead"
FULL_STOP_LINES = [  # one paragraph; the first line is full width and ends in a full stop
    "The board met on Monday and agreed the budget for the coming year in full.",
    "Members asked for a report on waiting times before the next meeting in June,",
    "and for the chair to write to the council about the library at Great Cornard.",
]
FULL_STOP_PARAGRAPH = " ".join(FULL_STOP_LINES)
NEXT_PARAGRAPH = "A short paragraph follows."
FOOTER_STAMP = "2016-05-26 draft Open Board Minutes NS v1 {page}"
FOOTER_OFFICE = ("Registered Office: County Library, Northgate Street, Ipswich IP1 3DE "
                 "Registered in England by the FCA, registered number 31542R")
ACROSS_COLUMNS = (  # runs from the foot of the left column to the head of the right one
    "Although the healthcare challenges we face are substantial, this strategy details how "
    "our organisations, in partnership with our communities, will address them in the "
    "coming decade.")
ACROSS_PAGES = (
    "The delivery board will publish its report every quarter, and each report will set "
    "out the progress made against every commitment, the risks that have changed and the "
    "decisions the partners have taken since the last meeting of the board.")


def _superscript_line(pdf: FPDF) -> None:
    """A sentence with raised ordinal suffixes, as Word sets them."""
    for text, raised in [("The Library will close on 1", False), ("st", True),
                         (" September 2016 and re-open on 19", False), ("th", True),
                         (" September 2016.", False)]:
        pdf.char_vpos = "SUP" if raised else "LINE"
        pdf.write(5, text)
    pdf.char_vpos = "LINE"
    pdf.ln(12)


class MinutesPDF(FPDF):
    """Board minutes with a two-line footer that varies by page: a version stamp with
    the page number, and a registered-office line set well above the bottom tenth."""

    def footer(self) -> None:
        self.set_y(-40)
        self.set_font("helvetica", "", 11)
        self.cell(0, 5, FOOTER_STAMP.format(page=self.page_no()), new_x="LMARGIN",
                  new_y="NEXT")
        self.set_font("helvetica", "", 7)
        self.multi_cell(0, 3.5, FOOTER_OFFICE)


def make_minutes_pdf(path: Path) -> Path:
    """Four pages of minutes: superscripts, a contact block after a colon, a bold
    body-size heading, a signature line, a paragraph whose full-width first line ends in
    a full stop, and a sentence cut by a page break."""
    pdf = MinutesPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=45)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 10, "Minutes of the open Board meeting", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", "", 11)
    _superscript_line(pdf)
    pdf.multi_cell(0, 6, COMPLAINTS_LEAD, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    for line in CONTACT_LINES:
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 6, BOLD_HEADING, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("helvetica", "", 11)
    pdf.multi_cell(0, 6, "A requester who has new clinical evidence may ask the panel to "
                   "look at the request again within three months.", new_x="LMARGIN",
                   new_y="NEXT")
    pdf.ln(6)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 6, NUMBERED_BOLD_HEADING, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("helvetica", "", 11)
    for line in FULL_STOP_LINES:  # set line by line so that the first ends at a full stop
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.cell(0, 6, NEXT_PARAGRAPH, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    pdf.cell(0, 6, SIGNATURE_LINE, new_x="LMARGIN", new_y="NEXT")
    for sections in REPORT_PAGES[1:]:  # different words on every page, as minutes have
        pdf.add_page()
        pdf.set_font("helvetica", "", 11)
        for _, _, paragraphs in sections:
            for text in paragraphs:
                pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(6)
    # the last page's paragraph runs on past the bottom margin, mid-sentence
    pdf.set_y(pdf.h - 45 - 12)
    pdf.multi_cell(0, 6, ACROSS_PAGES, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def make_column_break_pdf(path: Path) -> Path:
    """Two columns, where one sentence runs from the foot of the left column to the
    head of the right one, as in a designed strategy document."""
    words = ACROSS_COLUMNS.split()
    head, tail = " ".join(words[:14]), " ".join(words[14:])
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", "", 11)
    left = ("This strategy sets out how the partners will work together over ten years. "
            "It was shaped by staff, patients and the public. " + head)
    pdf.set_xy(10, 40)
    pdf.multi_cell(85, 6, left, align="L")
    pdf.set_xy(115, 40)
    pdf.multi_cell(85, 6, tail + " We will respond with agility and use new technology to "
                   "develop fair and sustainable care.", align="L")
    pdf.output(str(path))
    return path


def make_scanned_pdf(path: Path, text_pdf: Path, dpi: int = 200) -> Path:
    """Each page of `text_pdf` as a picture only, as a scanner would produce it."""
    import pypdfium2

    source = pypdfium2.PdfDocument(str(text_pdf))
    pdf = FPDF(format="A4")
    try:
        for index in range(len(source)):
            page = source[index]
            picture = page.render(scale=dpi / 72, grayscale=True).to_pil()
            page.close()
            pdf.add_page()
            pdf.image(picture, x=0, y=0, w=pdf.w, h=pdf.h)
    finally:
        source.close()
    pdf.output(str(path))
    return path


SCANNED_TEXT = [
    "Winter plan for the county",
    "The hospital will open twenty extra beds in December.",
    "Patients can call the community nursing team at any hour.",
]


def make_letter_pdf(path: Path, pages: int = 1) -> Path:
    """Pages of large, plain text: what a scanner would photograph."""
    pdf = FPDF(format="A4")
    for _ in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 18)
        pdf.cell(0, 12, SCANNED_TEXT[0], new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        pdf.set_font("helvetica", "", 14)
        for line in SCANNED_TEXT[1:]:
            pdf.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    pdf.output(str(path))
    return path
