"""Route sheets rendered as HTML and PDF: stops in order, local ETAs, hand-overs, Vietnamese text, QR codes that
read back as the live sheet's address, navigation links, nothing loaded from elsewhere."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
import segno
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from api.sheets import QR_ERROR, to_html, to_pdf
from services.adapters.sheets import LOCAL, RouteSheet, SheetItem, SheetStop
from services.domain.items import default_catalogue

LIVE = "https://greenlane.example/api/v1/plans/plan-760-r1/vehicles/truck-1/sheet?token=gl_0123_abcDEF-_x"
PDF_URL = LIVE.replace("/sheet?", "/sheet.pdf?")


def items(**quantities: float) -> tuple[SheetItem, ...]:
    catalogue = default_catalogue()
    return tuple(SheetItem(code, catalogue.get(code).name, catalogue.get(code).name_vi, catalogue.get(code).unit, q)
                 for code, q in quantities.items())


def utc(hour: int, minute: int) -> datetime:
    return datetime(2021, 7, 9, hour, minute, tzinfo=UTC)


def build_sheet() -> RouteSheet:
    # ETAs given in UTC on purpose: the sheet shows Vietnam time (UTC+7).
    stops = (
        SheetStop("s-3", "dep>green:dry", 3, 1, "drop", utc(2, 45), 300.0, items(rice=250.0, water=50.0),
                  10.788, 106.697, zone_id="green", zone_name="Phường Đa Kao", commune_code="26737",
                  commune_name="Phường Đa Kao", contact_name="Bách hóa Xanh <Đa Kao>", contact="0909 123 456"),
        SheetStop("s-1", "dep>red:dry", 1, 1, "drop", utc(1, 30), 480.0, items(rice=400.0, noodles=1000.0),
                  10.7725, 106.696, zone_id="red", zone_name="Chợ Bến Thành", commune_code="26734",
                  commune_name="Phường Bến Nghé", checkpoint_id="cp-1", checkpoint_name="Chốt Lê Lợi",
                  handover_minutes=15),
        SheetStop("s-2", "offer-1", 2, 1, "pickup", utc(2, 5), 300.0, (), 10.7725, 106.696, zone_id="red",
                  zone_name="Chợ Bến Thành", checkpoint_id="cp-1", checkpoint_name="Chốt Lê Lợi",
                  handover_minutes=15, contact_name="rau muống", contact="0912 000 111"),
        SheetStop("s-4", "dep>red:medicine", 1, 2, "drop", utc(5, 10), 30.0, items(medicine_kit=100.0),
                  10.7725, 106.696, zone_id="red", zone_name="Chợ Bến Thành", checkpoint_id="cp-1",
                  checkpoint_name="Chốt Lê Lợi", handover_minutes=15),
    )
    return RouteSheet(plan_id="plan-760-r1", plan_status="proposed", plan_day=date(2021, 7, 9),
                      district_code="760", district_name="Quận 1", vehicle_id="truck-1", plate="51C-123.45",
                      depot_id="dep", depot_name="Chợ đầu mối Bình Điền",
                      departure=datetime(2021, 7, 9, 6, 0, tzinfo=LOCAL),
                      shift_end=datetime(2021, 7, 9, 18, 0, tzinfo=LOCAL),
                      stops=tuple(sorted(stops, key=lambda s: (s.trip, s.sequence))),
                      created_at=utc(0, 5))


@pytest.fixture
def sheet() -> RouteSheet:
    return build_sheet()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.sources: list[tuple[str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "href" and value is not None:
                self.hrefs.append(value)
            if name in ("src", "srcset", "data", "poster", "action"):
                self.sources.append((tag, value or ""))


def qr_matrix_from_svg(html: str) -> list[list[int]]:
    """The dark modules of segno's inline SVG path (M/m moves, h runs; one unit per module)."""
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S)
    assert svg, "no inline SVG"
    width = int(re.search(r'width="(\d+)"', svg.group(0)).group(1))
    scale = int(re.search(r'transform="scale\((\d+)\)"', svg.group(0)).group(1))
    size = width // scale
    path = re.search(r' d="([^"]+)"', svg.group(0)).group(1)
    grid = [[0] * size for _ in range(size)]
    x = y = 0.0
    for command, a, b in re.findall(r"([MmHh])\s*(-?[\d.]+)(?:\s+(-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        elif command == "h":
            for col in range(int(x), int(x + float(a))):
                grid[int(y)][col] = 1
            x += float(a)
        else:
            raise AssertionError(f"unexpected path command {command}")
    return grid


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


def test_html_lists_the_stops_in_order_with_local_etas_and_hand_overs(sheet):
    html = to_html(sheet, LIVE, PDF_URL)
    positions = [html.index(f'id="stop-{s}"') for s in ("s-1", "s-2", "s-3", "s-4")]
    assert positions == sorted(positions)
    assert html.index("Chuyến 1") < positions[0] < positions[2] < html.index("Chuyến 2") < positions[3]
    for local in ("08:30", "09:05", "09:45", "12:10"):  # 01:30, 02:05, 02:45, 05:10 UTC
        assert f'<span class="eta">{local}</span>' in html
    assert "01:30" not in html
    red = re.search(r'<li class="stop checkpoint" id="stop-s-1">(.*?)</li>\s*<li', html, re.S)
    assert red and "Chốt Lê Lợi" in red.group(1) and "15 phút / min" in red.group(1)
    assert "Bàn giao tại chốt" in red.group(1) and "Hand over at the checkpoint" in red.group(1)
    pickup = html[html.index('id="stop-s-2"'):html.index('id="stop-s-3"')]
    assert "Nhận hàng tại chốt" in pickup and "Nhận nông sản / Pick up produce" in pickup
    green = html[html.index('id="stop-s-3"'):html.index("Chuyến 2")]
    assert 'class="stop"' in html and "Bàn giao" not in green and "checkpoint" not in green.split(">", 1)[0]
    assert "Xuất phát / Departure" in html and "06:00" in html and "18:00" in html
    assert "Chuyến 1 <span class=\"en\">/ Trip 1</span> · 780 kg" in html  # drops only: 480 + 300


def test_html_carries_vietnamese_text_items_with_units_and_escaped_contacts(sheet):
    html = to_html(sheet, LIVE, PDF_URL)
    assert '<html lang="vi">' in html and '<meta charset="utf-8">' in html
    assert 'name="viewport"' in html and "@media print" in html
    for text in ("Lộ trình giao hàng", "Route sheet", "Chợ đầu mối Bình Điền", "Phường Bến Nghé", "Quận 1",
                 "Gạo / Rice: 400 kg", "Mì gói / Instant noodles: 1 000 pack", "Túi thuốc F0 / Medicine kit (F0 "
                 "home care): 100 kit", "Nước uống / Drinking water: 50 litre"):
        assert text in html, text
    assert "Bách hóa Xanh &lt;Đa Kao&gt;" in html and "<Đa Kao>" not in html
    assert 'href="tel:0909123456"' in html


def test_html_loads_nothing_from_elsewhere_and_links_each_stop_to_navigation(sheet):
    html = to_html(sheet, LIVE, PDF_URL)
    parser = _Links()
    parser.feed(html)
    assert parser.sources == [] and not {"link", "script", "img", "iframe", "object"} & set(parser.tags)
    assert "url(" not in html and "@import" not in html
    assert 'name="referrer" content="no-referrer"' in html
    for stop in sheet.stops:
        assert f"https://www.openstreetmap.org/directions?to={stop.lat:.6f}%2C{stop.lon:.6f}" in parser.hrefs
        assert f"geo:{stop.lat:.6f},{stop.lon:.6f}" in parser.hrefs
    allowed = ("https://www.openstreetmap.org/directions?", "geo:", "tel:")
    others = [h for h in parser.hrefs if not h.startswith(allowed)]
    assert others == [PDF_URL]


def test_the_html_qr_code_is_the_live_sheets_address(sheet):
    html = to_html(sheet, LIVE, PDF_URL)
    grid = qr_matrix_from_svg(html)
    expected = segno.make(LIVE, error=QR_ERROR, micro=False)
    assert grid == [list(row) for row in expected.matrix_iter(scale=1, border=4)]
    assert grid != [list(row) for row in segno.make(LIVE + "x", error=QR_ERROR).matrix_iter(scale=1, border=4)]
    picture = Image.new("L", (len(grid) * 6, len(grid) * 6), 255)
    for y, row in enumerate(grid):
        for x, dark in enumerate(row):
            if dark:
                picture.paste(0, (x * 6, y * 6, x * 6 + 6, y * 6 + 6))
    assert decode(picture) == [LIVE]  # an independent decoder reads it back


def test_pdf_has_the_stops_in_vietnamese_with_an_embedded_font_links_and_a_readable_qr(sheet):
    data = to_pdf(sheet, LIVE)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("Lộ trình giao hàng", "Chợ đầu mối Bình Điền", "Gạo / Rice: 400 kg", "Chốt Lê Lợi",
                     "Bàn giao tại chốt", "15 phút", "Túi thuốc F0", "rau muống 0912 000 111", "51C-123.45"):
        assert expected in text, expected
    etas = [text.index(f"{n}.  {hm}") for n, hm in ((1, "08:30"), (2, "09:05"), (3, "09:45"))]
    assert etas == sorted(etas) and text.index("Chuyến 2") < text.index("1.  12:10")
    fonts = {str(f["/BaseFont"]) for page in reader.pages
             for f in page["/Resources"]["/Font"].get_object().values()}
    assert fonts and all("DejaVuSans" in f for f in fonts)
    assert all(f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get("/FontFile2")
               for page in reader.pages for f in page["/Resources"]["/Font"].get_object().values())
    uris = [a.get_object()["/A"]["/URI"] for page in reader.pages for a in page.get("/Annots", [])
            if "/URI" in a.get_object().get("/A", {})]
    for stop in sheet.stops:
        assert stop.directions_url in uris
    assert LIVE in uris  # the QR code is a link too
    (image,) = reader.pages[0].images
    assert decode(image.image) == [LIVE]


def test_a_long_sheet_breaks_pages_between_stops(sheet):
    many = tuple(SheetStop(f"s-{i}", f"o-{i}", i, 1, "drop", utc(1, 0) + timedelta(minutes=7 * i), 10.0,
                           items(rice=5.0, eggs=30.0, pork=2.0), 10.78, 106.69, zone_name="Phường Tân Định")
                 for i in range(1, 41))
    long = RouteSheet(**{**sheet.__dict__, "stops": many})
    reader = PdfReader(io.BytesIO(to_pdf(long, LIVE)))
    assert len(reader.pages) > 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert all(f"{i}.  " in text for i in range(1, 41)) and "Trứng / Eggs: 30 egg" in text


def test_navigation_links_point_at_the_stop():
    stop = SheetStop("s", "o", 1, 1, "drop", utc(1, 0), 1.0, (), 10.7725, 106.698123)
    assert stop.geo_uri == "geo:10.772500,106.698123"
    assert stop.directions_url == "https://www.openstreetmap.org/directions?to=10.772500%2C106.698123"
