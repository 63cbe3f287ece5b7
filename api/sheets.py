"""Route sheets rendered for the driver: printable HTML that reads well on a phone, and a PDF.

Both are self-contained: the HTML carries its CSS and its QR code (SVG) inline and loads nothing from anywhere;
the PDF embeds DejaVu Sans (Vietnamese diacritics) and its QR code (PNG). The QR code opens the live sheet.
"""

from __future__ import annotations

import io
from datetime import datetime
from html import escape
from pathlib import Path

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from services.adapters.sheets import LOCAL, RouteSheet, SheetItem, SheetStop

FONTS = Path(__file__).resolve().parent / "static" / "fonts"
QR_ERROR = "m"  # 15 % of the code can be smudged or folded and it still reads

KINDS = {  # (Vietnamese, English)
    "drop": ("Giao hàng", "Drop"),
    "pickup": ("Nhận nông sản", "Pick up produce"),
    "delivery": ("Giao nông sản", "Deliver produce"),
}
STATUS = {"proposed": ("Đề xuất", "proposed"), "approved": ("Đã duyệt", "approved"),
          "superseded": ("Đã thay thế", "superseded")}


def qr(url: str) -> segno.QRCode:
    """The QR code of the live sheet's address."""
    return segno.make(url, error=QR_ERROR, micro=False)


def _hm(at: datetime | None) -> str:
    """Hours and minutes in local time, whatever zone the value carries."""
    return at.astimezone(LOCAL).strftime("%H:%M") if at else "—"


def _qty(value: float) -> str:
    text = f"{value:,.1f}" if abs(value - round(value)) >= 0.05 else f"{round(value):,}"
    return text.replace(",", " ")


def item_line(item: SheetItem) -> str:
    """'Gạo / Rice: 120 kg'."""
    name = item.name if item.name_vi == item.name else f"{item.name_vi} / {item.name}"
    return f"{name}: {_qty(item.quantity)} {item.unit}".rstrip()


def place_line(stop: SheetStop) -> str:
    """Where the stop is: the checkpoint, the zone and the ward when known."""
    parts = []
    if stop.checkpoint_name or stop.checkpoint_id:
        parts.append(f"Chốt / Checkpoint {stop.checkpoint_name or stop.checkpoint_id}")
    if stop.zone_name or stop.zone_id:
        parts.append(f"Vùng / Zone {stop.zone_name or stop.zone_id}")
    if stop.commune_name or stop.commune_code:
        parts.append(stop.commune_name or f"Phường/xã / Ward {stop.commune_code}")
    return " · ".join(parts) or f"{stop.lat:.5f}, {stop.lon:.5f}"


def handover_line(stop: SheetStop) -> str | None:
    if not stop.at_checkpoint:
        return None
    minutes = f" (~{stop.handover_minutes} phút / min)" if stop.handover_minutes is not None else ""
    if stop.kind == "pickup":
        return f"Nhận hàng tại chốt, không vào vùng / Collect at the checkpoint, do not enter the zone{minutes}"
    return f"Bàn giao tại chốt, không vào vùng / Hand over at the checkpoint, do not enter the zone{minutes}"


def title(sheet: RouteSheet) -> str:
    return f"Lộ trình xe {sheet.plate or sheet.vehicle_id} · {sheet.plan_day.strftime('%d/%m/%Y')}"


# --- HTML ------------------------------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;font-size:18px;
line-height:1.45;margin:0;padding:12px;color:#111;background:#fff;max-width:56rem;margin-inline:auto}
h1{font-size:1.5rem;margin:.2rem 0}
h2{font-size:1.25rem;margin:1.2rem 0 .4rem;border-bottom:2px solid #111;padding-bottom:.2rem}
.en{color:#444;font-weight:normal}
header{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start;justify-content:space-between}
.facts{margin:0;display:grid;grid-template-columns:auto 1fr;gap:.1rem .8rem}
.facts dt{font-weight:bold}.facts dd{margin:0}
.qr{text-align:center;font-size:.8rem}.qr svg{width:8.5rem;height:8.5rem}
ol.stops{list-style:none;padding:0;margin:0}
.stop{border:2px solid #111;border-radius:10px;padding:10px 12px;margin:10px 0;break-inside:avoid;
page-break-inside:avoid}
.stop.checkpoint{border-color:#b00020;border-width:3px}
.head{display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap}
.seq{font-size:1.6rem;font-weight:bold;min-width:2.2rem}
.eta{font-size:1.6rem;font-weight:bold}
.kind{font-weight:bold;text-transform:uppercase;font-size:.95rem}
.handover{background:#ffe9ec;color:#7a0014;font-weight:bold;padding:.3rem .5rem;border-radius:6px;margin:.4rem 0}
ul.items{margin:.3rem 0;padding-left:1.2rem}
.contact a,.nav a{font-weight:bold}
.nav{display:flex;gap:.6rem;flex-wrap:wrap;margin-top:.4rem}
.nav a{display:inline-block;padding:.45rem .8rem;border:2px solid #0b57d0;border-radius:8px;color:#0b57d0;
text-decoration:none}
.coords{font-size:.85rem;color:#444}
footer{margin-top:1.5rem;font-size:.85rem;color:#444}
@media print{
@page{size:A4;margin:12mm}
body{font-size:12pt;padding:0;max-width:none}
.nav a{border:none;padding:0;color:#111;text-decoration:underline}
.noprint{display:none}
.stop{border-width:1.5px}
}
"""


def _heading(vi: str, en: str) -> str:
    return f'{escape(vi)} <span class="en">/ {escape(en)}</span>'


def _stop_html(stop: SheetStop) -> str:
    vi, en = KINDS.get(stop.kind, (stop.kind, stop.kind))
    rows = [f'<div class="head"><span class="seq">{stop.sequence}.</span>'
            f'<span class="eta">{_hm(stop.eta)}</span>'
            f'<span class="kind">{escape(vi)} / {escape(en)}</span>'
            f'<span class="kg">{_qty(stop.kg)} kg</span></div>',
            f'<div class="place">{escape(place_line(stop))}</div>']
    handover = handover_line(stop)
    if handover:
        rows.append(f'<div class="handover">{escape(handover)}</div>')
    if stop.items:
        rows.append('<ul class="items">' + "".join(f"<li>{escape(item_line(i))}</li>" for i in stop.items)
                    + "</ul>")
    if stop.contact:
        tel = "".join(ch for ch in stop.contact if ch.isdigit() or ch == "+")
        number = (f'<a href="tel:{escape(tel)}">{escape(stop.contact)}</a>' if len(tel) >= 6
                  else escape(stop.contact))
        rows.append(f'<div class="contact">Liên hệ / Contact: {escape(stop.contact_name or "")} {number}</div>')
    rows.append(f'<div class="nav"><a href="{escape(stop.directions_url)}" rel="noreferrer noopener">'
                f'Chỉ đường / Directions</a><a href="{escape(stop.geo_uri)}">Mở bản đồ / Open in maps</a></div>'
                f'<div class="coords">{stop.lat:.6f}, {stop.lon:.6f}</div>')
    cls = "stop checkpoint" if stop.at_checkpoint else "stop"
    return f'<li class="{cls}" id="stop-{escape(stop.stop_id)}">' + "".join(rows) + "</li>"


def to_html(sheet: RouteSheet, live_url: str, pdf_url: str | None = None) -> str:
    """The sheet as one printable page with inline CSS and an inline SVG QR code of `live_url`."""
    svg = qr(live_url).svg_inline(scale=4, border=4, title="QR: " + live_url)
    status_vi, status_en = STATUS.get(sheet.plan_status, (sheet.plan_status, sheet.plan_status))
    district = sheet.district_name or sheet.district_code
    facts = [
        ("Xe / Vehicle", f"{sheet.plate or '—'} ({sheet.vehicle_id})"),
        ("Kho / Depot", sheet.depot_name or sheet.depot_id or "—"),
        ("Xuất phát / Departure", f"{_hm(sheet.departure)} (ca / shift {_hm(sheet.departure)}–{_hm(sheet.shift_end)})"),
        ("Quận / District", district),
        ("Kế hoạch / Plan", f"{sheet.plan_id} · {status_vi} / {status_en}"),
        ("Điểm dừng / Stops", f"{len(sheet.stops)} · {_qty(sheet.total_kg)} kg"),
    ]
    trips = []
    for trip in sheet.trips:
        stops = sheet.stops_of(trip)
        trips.append(f"<section><h2>{_heading(f'Chuyến {trip}', f'Trip {trip}')} · "
                     f"{escape(_qty(sheet.load_kg(trip)))} kg "
                     f'<span class="en">({escape(_hm(stops[0].eta))}–{escape(_hm(stops[-1].eta))})</span></h2>'
                     '<ol class="stops">' + "".join(_stop_html(s) for s in stops) + "</ol></section>")
    pdf_link = (f'<p class="noprint"><a href="{escape(pdf_url)}">Tải PDF / Download PDF</a></p>' if pdf_url
                else "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title(sheet))}</title><style>{CSS}</style></head><body>"
        f"<header><div><h1>{_heading('Lộ trình giao hàng', 'Route sheet')}</h1>"
        f"<p><strong>{escape(sheet.plan_day.strftime('%d/%m/%Y'))}</strong> · giờ Việt Nam / Vietnam time (GMT+7)</p>"
        '<dl class="facts">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts) + "</dl>"
        f"{pdf_link}</div>"
        f'<div class="qr">{svg}<div>Quét để mở bản mới nhất<br>Scan for the live sheet</div></div></header>'
        + "".join(trips)
        + f"<footer>Greenlane · {escape(sheet.plan_id)} · lập lúc / made "
          f"{escape(sheet.created_at.astimezone(LOCAL).strftime('%d/%m/%Y %H:%M'))}</footer>"
        "</body></html>"
    )


# --- PDF -------------------------------------------------------------------------------------------------------

class _SheetPDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")


def _fonts() -> tuple[Path, Path]:
    regular, bold = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
    if not regular.exists() or not bold.exists():
        raise FileNotFoundError(f"the route-sheet fonts are missing from {FONTS}")
    return regular, bold


def to_pdf(sheet: RouteSheet, live_url: str) -> bytes:
    """The sheet as an A4 PDF: large ETAs, hand-overs in red, a QR code of `live_url`, clickable links."""
    regular, bold = _fonts()
    pdf = _SheetPDF(f"Greenlane · {sheet.plan_id} · {sheet.vehicle_id}")
    pdf.set_title(title(sheet))
    pdf.set_author("Greenlane")
    pdf.set_lang("vi")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(12, 12, 12)
    pdf.add_page()

    png = io.BytesIO()
    qr(live_url).save(png, kind="png", scale=8, border=4)
    png.seek(0)
    qr_size = 42.0
    pdf.image(png, x=pdf.w - pdf.r_margin - qr_size, y=pdf.t_margin, w=qr_size, h=qr_size, link=live_url)
    pdf.set_xy(pdf.w - pdf.r_margin - qr_size, pdf.t_margin + qr_size)
    pdf.set_font("DejaVu", size=7)
    pdf.multi_cell(qr_size, 3.2, "Quét để mở bản mới nhất\nScan for the live sheet", align="C")

    text_w = pdf.w - pdf.l_margin - pdf.r_margin - qr_size - 4
    pdf.set_xy(pdf.l_margin, pdf.t_margin)
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(text_w, 8, "Lộ trình giao hàng / Route sheet", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", size=11)
    status_vi, status_en = STATUS.get(sheet.plan_status, (sheet.plan_status, sheet.plan_status))
    facts = [
        f"Ngày / Day: {sheet.plan_day.strftime('%d/%m/%Y')} (giờ Việt Nam / Vietnam time, GMT+7)",
        f"Xe / Vehicle: {sheet.plate or '—'} ({sheet.vehicle_id})",
        f"Kho / Depot: {sheet.depot_name or sheet.depot_id or '—'}",
        f"Xuất phát / Departure: {_hm(sheet.departure)} (ca / shift {_hm(sheet.departure)}–{_hm(sheet.shift_end)})",
        f"Quận / District: {sheet.district_name or sheet.district_code}",
        f"Kế hoạch / Plan: {sheet.plan_id} · {status_vi} / {status_en}",
        f"Điểm dừng / Stops: {len(sheet.stops)} · {_qty(sheet.total_kg)} kg",
    ]
    for line in facts:
        pdf.multi_cell(text_w, 5.6, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), pdf.t_margin + qr_size + 8) + 2)

    width = pdf.w - pdf.l_margin - pdf.r_margin
    for trip in sheet.trips:
        stops = sheet.stops_of(trip)
        pdf.set_font("DejaVu", "B", 14)
        pdf.set_fill_color(230, 230, 230)
        pdf.multi_cell(width, 8, f"Chuyến {trip} / Trip {trip} · {_qty(sheet.load_kg(trip))} kg · "
                                 f"{_hm(stops[0].eta)}–{_hm(stops[-1].eta)}",
                       fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1.5)
        for stop in stops:
            _pdf_stop(pdf, stop, width)
    return bytes(pdf.output())


def _pdf_stop(pdf: FPDF, stop: SheetStop, width: float) -> None:
    lines = 2 + len(stop.items) + (2 if stop.at_checkpoint else 0) + (1 if stop.contact else 0)
    if pdf.get_y() + 7.5 + 5.6 * lines + 9 > pdf.page_break_trigger:  # keep a stop's block on one page
        pdf.add_page()
    vi, en = KINDS.get(stop.kind, (stop.kind, stop.kind))
    pdf.set_draw_color(0, 0, 0)
    top, page = pdf.get_y(), pdf.page
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(width, 7.5, f"{stop.sequence}.  {_hm(stop.eta)}   {vi} / {en} · {_qty(stop.kg)} kg",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", size=11)
    pdf.multi_cell(width, 5.6, place_line(stop), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    handover = handover_line(stop)
    if handover:
        pdf.set_font("DejaVu", "B", 11)
        pdf.set_text_color(160, 0, 20)
        pdf.multi_cell(width, 5.6, handover, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("DejaVu", size=11)
    for item in stop.items:
        pdf.multi_cell(width, 5.6, f"• {item_line(item)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if stop.contact:
        pdf.multi_cell(width, 5.6, f"Liên hệ / Contact: {stop.contact_name or ''} {stop.contact}".replace("  ", " "),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", size=9)
    pdf.set_text_color(11, 87, 208)
    pdf.cell(0, 5, f"Chỉ đường / Directions: {stop.lat:.6f}, {stop.lon:.6f}", link=stop.directions_url,
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    bottom = pdf.get_y() + 1.5
    if stop.at_checkpoint:
        pdf.set_draw_color(160, 0, 20)
        pdf.set_line_width(0.8)
    else:
        pdf.set_line_width(0.3)
    if pdf.page == page:  # the block did not run over a page break
        pdf.rect(pdf.l_margin - 1.5, top - 1, width + 3, bottom - top + 1)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_y(bottom + 2.5)
