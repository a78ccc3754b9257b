"""Language codes as media files and players write them (ISO 639). Pure.

Files tag their tracks with ISO 639-2 codes, bibliographic (`ger`, as Matroska and most
tools write) or terminologic (`deu`, as MP4 muxers often write); users and HLS (BCP 47)
write ISO 639-1 (`de`). All three name one language: `canonical` maps each to the 639-2/T
code, so that `de`, `deu` and `ger` match one another.
"""

from __future__ import annotations

from functools import cache

# ISO 639-1, ISO 639-2/T, ISO 639-2/B where it differs ("-" where not), English name: every
# language that has a 639-1 code (184; the 20 B/T pairs among them).
_TABLE = """\
aa aar - Afar
ab abk - Abkhazian
af afr - Afrikaans
ak aka - Akan
am amh - Amharic
ar ara - Arabic
an arg - Aragonese
as asm - Assamese
av ava - Avaric
ae ave - Avestan
ay aym - Aymara
az aze - Azerbaijani
ba bak - Bashkir
bm bam - Bambara
be bel - Belarusian
bn ben - Bengali
bi bis - Bislama
bo bod tib Tibetan
bs bos - Bosnian
br bre - Breton
bg bul - Bulgarian
ca cat - Catalan
cs ces cze Czech
ch cha - Chamorro
ce che - Chechen
cu chu - Church Slavic
cv chv - Chuvash
kw cor - Cornish
co cos - Corsican
cr cre - Cree
cy cym wel Welsh
da dan - Danish
de deu ger German
dv div - Divehi
dz dzo - Dzongkha
el ell gre Modern Greek (1453-)
en eng - English
eo epo - Esperanto
et est - Estonian
eu eus baq Basque
ee ewe - Ewe
fo fao - Faroese
fa fas per Persian
fj fij - Fijian
fi fin - Finnish
fr fra fre French
fy fry - Western Frisian
ff ful - Fulah
gd gla - Scottish Gaelic
ga gle - Irish
gl glg - Galician
gv glv - Manx
gn grn - Guarani
gu guj - Gujarati
ht hat - Haitian
ha hau - Hausa
sh hbs - Serbo-Croatian
he heb - Hebrew
hz her - Herero
hi hin - Hindi
ho hmo - Hiri Motu
hr hrv - Croatian
hu hun - Hungarian
hy hye arm Armenian
ig ibo - Igbo
io ido - Ido
ii iii - Sichuan Yi
iu iku - Inuktitut
ie ile - Interlingue
ia ina - Interlingua (International Auxiliary Language Association)
id ind - Indonesian
ik ipk - Inupiaq
is isl ice Icelandic
it ita - Italian
jv jav - Javanese
ja jpn - Japanese
kl kal - Kalaallisut
kn kan - Kannada
ks kas - Kashmiri
ka kat geo Georgian
kr kau - Kanuri
kk kaz - Kazakh
km khm - Khmer
ki kik - Kikuyu
rw kin - Kinyarwanda
ky kir - Kirghiz
kv kom - Komi
kg kon - Kongo
ko kor - Korean
kj kua - Kuanyama
ku kur - Kurdish
lo lao - Lao
la lat - Latin
lv lav - Latvian
li lim - Limburgan
ln lin - Lingala
lt lit - Lithuanian
lb ltz - Luxembourgish
lu lub - Luba-Katanga
lg lug - Ganda
mh mah - Marshallese
ml mal - Malayalam
mr mar - Marathi
mk mkd mac Macedonian
mg mlg - Malagasy
mt mlt - Maltese
mn mon - Mongolian
mi mri mao Maori
ms msa may Malay (macrolanguage)
my mya bur Burmese
na nau - Nauru
nv nav - Navajo
nr nbl - South Ndebele
nd nde - North Ndebele
ng ndo - Ndonga
ne nep - Nepali (macrolanguage)
nl nld dut Dutch
nn nno - Norwegian Nynorsk
nb nob - Norwegian Bokmål
no nor - Norwegian
ny nya - Chichewa
oc oci - Occitan (post 1500)
oj oji - Ojibwa
or ori - Oriya (macrolanguage)
om orm - Oromo
os oss - Ossetian
pa pan - Panjabi
pi pli - Pali
pl pol - Polish
pt por - Portuguese
ps pus - Pushto
qu que - Quechua
rm roh - Romansh
ro ron rum Romanian
rn run - Rundi
ru rus - Russian
sg sag - Sango
sa san - Sanskrit
si sin - Sinhala
sk slk slo Slovak
sl slv - Slovenian
se sme - Northern Sami
sm smo - Samoan
sn sna - Shona
sd snd - Sindhi
so som - Somali
st sot - Southern Sotho
es spa - Spanish
sq sqi alb Albanian
sc srd - Sardinian
sr srp - Serbian
ss ssw - Swati
su sun - Sundanese
sw swa - Swahili (macrolanguage)
sv swe - Swedish
ty tah - Tahitian
ta tam - Tamil
tt tat - Tatar
te tel - Telugu
tg tgk - Tajik
tl tgl - Tagalog
th tha - Thai
ti tir - Tigrinya
to ton - Tonga (Tonga Islands)
tn tsn - Tswana
ts tso - Tsonga
tk tuk - Turkmen
tr tur - Turkish
tw twi - Twi
ug uig - Uighur
uk ukr - Ukrainian
ur urd - Urdu
uz uzb - Uzbek
ve ven - Venda
vi vie - Vietnamese
vo vol - Volapük
wa wln - Walloon
wo wol - Wolof
xh xho - Xhosa
yi yid - Yiddish
yo yor - Yoruba
za zha - Zhuang
zh zho chi Chinese
zu zul - Zulu
"""


@cache
def _codes() -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """(any code -> 639-2/T, 639-2/T -> (639-1, English name))."""
    canonical: dict[str, str] = {}
    described: dict[str, tuple[str, str]] = {}
    for line in _TABLE.splitlines():
        short, terminologic, bibliographic, name = line.split(" ", 3)
        for code in (short, terminologic, bibliographic):
            if code != "-":
                canonical[code] = terminologic
        described[terminologic] = (short, name)
    return canonical, described


def canonical(code: str | None) -> str | None:
    """The ISO 639-2/T code of a 639-1 or 639-2 code (any case); other three-letter codes
    (639-2 languages without a 639-1 code, `und`) as they are; None for no code."""
    if not code:
        return None
    code = code.strip().lower()
    known = _codes()[0].get(code)
    if known is not None:
        return known
    return code if len(code) == 3 and code.isascii() and code.isalpha() else None


def same(code: str | None, other: str | None) -> bool:
    """Whether two codes name one language (`de` and `ger` do); no code matches none."""
    value = canonical(code)
    return value is not None and value == canonical(other)


def is_known(code: str) -> bool:
    """A code `canonical` understands as a language (not `und`, `mul`, `zxx`)."""
    value = canonical(code)
    return value is not None and value not in ("und", "mul", "zxx", "mis")


def tag(code: str) -> str:
    """The code as HLS writes LANGUAGE (RFC 5646: the 639-1 code where there is one)."""
    value = canonical(code) or code
    return _codes()[1].get(value, (value, value))[0]


def name(code: str) -> str:
    """The language's English name, for a player's menu; the code itself when unknown."""
    value = canonical(code) or code
    return _codes()[1].get(value, (code, code))[1]
