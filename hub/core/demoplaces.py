"""The last-mile demo's two cities: a depot, addresses inside its vans' area and a few
outside it (for a carrier), in Denver and in London.

The demo drives a working day that ends about now (the driver app refuses a phone time
in the future), so it takes the city where it is daytime: Denver when it is at least
mid-morning there, else London. Coordinates are the streets' real ones, to a hundred
metres or so; names and phone numbers are made up (555-01xx in the US, Ofcom's drama
range 07700 900xxx in the UK).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hub.orders import Address


@dataclass(frozen=True)
class Place:
    """A street address with its coordinates (degrees)."""

    line1: str
    postcode: str
    city: str
    latitude: float
    longitude: float
    region: str = ""


@dataclass(frozen=True)
class City:
    """Where a demo hub delivers: the depot, the vans' radius, the addresses."""

    name: str
    merchant: str
    zone: str
    country: str
    currency: str
    depot: Place
    radius_km: float
    inside: tuple[Place, ...]  # the vans deliver these
    outside: tuple[Place, ...]  # a carrier does
    phone_prefix: str  # + the customer's number, ``phone_digits`` long
    phone_digits: int

    def address(self, place: Place, name: str, phone: str = "", company: str = "") -> Address:
        """``place`` as an order's shipping address for ``name``."""
        return Address(
            name=name,
            company=company,
            line1=place.line1,
            city=place.city,
            region=place.region,
            postcode=place.postcode,
            country=self.country,
            phone=phone,
            latitude=place.latitude,
            longitude=place.longitude,
        )

    def phone(self, n: int) -> str:
        """The ``n``-th customer's made-up mobile number (E.164)."""
        return f"{self.phone_prefix}{100 + n:0{self.phone_digits}d}"


def _co(line1: str, postcode: str, city: str, lat: float, lon: float) -> Place:
    return Place(line1, postcode, city, lat, lon, region="CO")


DENVER = City(
    name="Denver",
    merchant="Mile High Pantry",
    zone="America/Denver",
    country="US",
    currency="USD",
    depot=_co("3800 Walnut St", "80205", "Denver", 39.7716, -104.9745),
    radius_km=12.0,
    inside=(
        _co("1437 Bannock St", "80202", "Denver", 39.7392, -104.9903),
        _co("2000 Blake St", "80205", "Denver", 39.7537, -104.9946),
        _co("1701 Wynkoop St", "80202", "Denver", 39.7530, -105.0002),
        _co("3001 Brighton Blvd", "80216", "Denver", 39.7680, -104.9790),
        _co("1200 E 17th Ave", "80218", "Denver", 39.7434, -104.9718),
        _co("2450 E Colfax Ave", "80206", "Denver", 39.7402, -104.9570),
        _co("700 Colorado Blvd", "80206", "Denver", 39.7276, -104.9406),
        _co("1001 S Gaylord St", "80209", "Denver", 39.6975, -104.9617),
        _co("2301 W 32nd Ave", "80211", "Denver", 39.7619, -105.0136),
        _co("4040 Tennyson St", "80212", "Denver", 39.7733, -105.0437),
        _co("1850 Federal Blvd", "80204", "Denver", 39.7462, -105.0252),
        _co("500 S Broadway", "80209", "Denver", 39.7081, -104.9877),
        _co("3200 E 6th Ave", "80206", "Denver", 39.7256, -104.9510),
        _co("2800 Larimer St", "80205", "Denver", 39.7604, -104.9822),
        _co("4600 E 17th Ave", "80220", "Denver", 39.7431, -104.9331),
        _co("1660 Lafayette St", "80218", "Denver", 39.7426, -104.9712),
        _co("3400 Navajo St", "80211", "Denver", 39.7647, -105.0060),
        _co("901 Santa Fe Dr", "80204", "Denver", 39.7307, -104.9997),
    ),
    outside=(
        _co("1777 Broadway", "80302", "Boulder", 40.0150, -105.2705),
        _co("30 N Tejon St", "80903", "Colorado Springs", 38.8339, -104.8214),
        _co("150 S College Ave", "80524", "Fort Collins", 40.5853, -105.0844),
    ),
    phone_prefix="+1303555",  # 555-0100 to 555-0199: fictional
    phone_digits=4,
)


def _uk(line1: str, postcode: str, lat: float, lon: float, city: str = "London") -> Place:
    return Place(line1, postcode, city, lat, lon)


LONDON = City(
    name="London",
    merchant="Bermondsey Pantry",
    zone="Europe/London",
    country="GB",
    currency="GBP",
    depot=_uk("30 Tanner St", "SE1 3LE", 51.5006, -0.0791),
    radius_km=10.0,
    inside=(
        _uk("10 Borough High St", "SE1 9QQ", 51.5052, -0.0899),
        _uk("1 Long Ln", "SE1 4PG", 51.4997, -0.0915),
        _uk("12 Bermondsey St", "SE1 3TQ", 51.5025, -0.0815),
        _uk("48 Jamaica Rd", "SE16 4RN", 51.4985, -0.0680),
        _uk("200 Lower Rd", "SE16 2UB", 51.4950, -0.0480),
        _uk("7 Wapping Ln", "E1W 2RG", 51.5060, -0.0590),
        _uk("90 Whitechapel High St", "E1 7QX", 51.5160, -0.0700),
        _uk("33 Brick Ln", "E1 6PU", 51.5195, -0.0718),
        _uk("15 Old St", "EC1V 9HL", 51.5250, -0.0880),
        _uk("60 Farringdon Rd", "EC1R 3GA", 51.5220, -0.1080),
        _uk("5 Fleet St", "EC4Y 1AA", 51.5138, -0.1110),
        _uk("18 Kennington Rd", "SE1 7BL", 51.4960, -0.1120),
        _uk("120 Walworth Rd", "SE17 1JL", 51.4880, -0.0930),
        _uk("40 Peckham High St", "SE15 5DT", 51.4740, -0.0690),
        _uk("22 Deptford High St", "SE8 4AF", 51.4790, -0.0260),
        _uk("9 Greenwich Church St", "SE10 9BJ", 51.4810, -0.0090),
        _uk("75 Mare St", "E8 4RG", 51.5400, -0.0560),
        _uk("88 Camberwell Rd", "SE5 0EG", 51.4800, -0.0940),
    ),
    outside=(
        _uk("10 Broad St", "OX1 3AS", 51.7545, -1.2568, "Oxford"),
        _uk("1 Market Hill", "CB2 3NJ", 52.2053, 0.1190, "Cambridge"),
        _uk("20 North St", "BN1 1EB", 50.8236, -0.1420, "Brighton"),
    ),
    phone_prefix="+447700900",  # 07700 900000 to 900999: Ofcom's drama numbers
    phone_digits=3,
)

CUSTOMERS = (
    "Ada Lovelace",
    "Alan Turing",
    "Barbara Liskov",
    "Claude Shannon",
    "Dorothy Vaughan",
    "Edsger Dijkstra",
    "Frances Allen",
    "Grace Hopper",
    "Hedy Lamarr",
    "Ivan Sutherland",
    "Joan Clarke",
    "Ken Thompson",
    "Lynn Conway",
    "Margaret Hamilton",
    "Niklaus Wirth",
    "Radia Perlman",
    "Sophie Wilson",
    "Tim Berners-Lee",
    "Whitfield Diffie",
)


def city_for(moment: datetime) -> City:
    """The city where ``moment`` (aware) falls in its working day: Denver from 10:00 to
    midnight local time, London otherwise (then 07:00 to 17:00 there)."""
    local = moment.astimezone(ZoneInfo(DENVER.zone))
    return DENVER if local.hour >= 10 else LONDON


__all__ = ["CUSTOMERS", "DENVER", "LONDON", "City", "Place", "city_for"]
