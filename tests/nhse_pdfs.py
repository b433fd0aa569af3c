"""A PDF laid out as NHS England publishes its policies: two stamp lines above the
cover's title and no title in the metadata, a footer with the page number and the
running title, and a back cover whose copyright line is printed over that footer."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

COVER_STAMPS = ["Classification: Official", "Publication reference: PR2086"]
COVER_TITLE = "Commissioning policy: individual funding requests"
RUNNING_TITLE = "individual funding requests"
COPYRIGHT = "© NHS England 2023 | PR2086"
BODY = [
    "Requests of type {n} go to the panel, which meets every month and considers each "
    "one on the evidence the clinician sends with it.",
    "A clinician may ask for a treatment of type {n} that is not routinely funded when "
    "the patient's clinical situation is exceptional compared with other patients.",
    "Complaints about a decision on a type {n} request should be submitted to the "
    "patient advice team, who will acknowledge them within three working days.",
]
BACK_COVER = "NHS England Wellington House 133-155 Waterloo Road London SE1 8UG"


class PolicyPDF(FPDF):
    """Pages after the cover carry "N | individual funding requests" at the bottom left,
    numbered from the first page after the cover."""

    back_cover = False

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-15)
        self.set_font("helvetica", "", 9)
        self.set_x(10)
        self.cell(10, 6, f"{self.page_no() - 1} |")
        start = self.get_x()
        self.cell(0, 6, RUNNING_TITLE)
        if self.back_cover:  # the copyright drawn over the running title, as printed
            self.set_x(start)
            self.cell(0, 6, COPYRIGHT)


def make_policy_pdf(path: Path, body_pages: int = 4) -> Path:
    """A cover, `body_pages` pages of policy text and a back cover."""
    pdf = PolicyPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"  # the © survives in Helvetica
    pdf.add_page()
    pdf.set_font("helvetica", "", 10)
    for stamp in COVER_STAMPS:
        pdf.cell(0, 8, stamp, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(30)
    pdf.set_font("helvetica", "B", 26)
    pdf.multi_cell(0, 12, COVER_TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 12)
    pdf.cell(0, 10, "Version 3, 8 February 2023", new_x="LMARGIN", new_y="NEXT")
    for number in range(body_pages):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 14)
        pdf.cell(0, 10, f"Requests of type {number + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 11)
        for repeat in range(4):
            for text in BODY:
                pdf.multi_cell(0, 6, text.format(n=4 * number + repeat + 1),
                               new_x="LMARGIN", new_y="NEXT")
                pdf.ln(3)
    pdf.add_page()
    pdf.back_cover = True  # after add_page: the previous page's footer is drawn by it
    pdf.set_y(200)
    pdf.set_font("helvetica", "", 11)
    pdf.multi_cell(0, 6, BACK_COVER, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path
