# What clean.rules.json does to the bench's messy listings, for jq -c -f:
# the comparable jq program, written without regular expressions (jq 1.6
# compiles one at every call).  A value it cannot read drops the record
# where etl-clean rejects it.  It trims only the fields it converts: the
# generator pads no other field.
def trim:
  if type == "string" and (startswith(" ") or endswith(" ")) then
    explode | until(length == 0 or .[0] != 32; .[1:])
    | until(length == 0 or .[-1] != 32; .[:-1]) | implode
  else . end;
def pad: if . < 10 then "0\(.)" else "\(.)" end;
# The digits and dots of a text, separators and words dropped.
def digits: explode | map(select((. >= 48 and . <= 57) or . == 46)) | implode;

# {n, cur} from a number or a text such as "1'250'000 CHF"; empty if none.
def price:
  if type == "string" then
    (digits | rtrimstr(".")) as $d
    | if $d == "" then empty else
        {n: (($d | tonumber) * (if contains("Mio") then 1000000 else 1 end)),
         cur: (if contains("CHF") then "CHF" elif contains("€") then "EUR"
               else null end)}
      end
  else {n: .} end;

# The number a text starts with ("89m2" is 89).
def lead:
  explode | [label $out | .[] | if (. >= 48 and . <= 57) or . == 46 then .
                                else break $out end] | implode;

def area:
  if type == "string" then
    (lead | tonumber) * (if contains("sq ft") then 0.09290304 else 1 end)
  else . end;

# YYYY-MM-DD from %Y-%m-%d, %d.%m.%Y or %d/%m/%Y; empty for no such day.
def date:
  if type == "string" then
    (if contains("-") then split("-")
     elif contains(".") then split(".") | reverse
     else split("/") | reverse end) | map(tonumber) as [$y, $m, $d]
    | "\($y)-\($m | pad)-\($d | pad)" as $s
    | if [$y, $m - 1, $d, 0, 0, 0, 0, 0] | mktime | todate | .[0:10] == $s
      then $s else empty end
  else . end;

. as $r
| ($r.raw_price | trim | price) as $p
| ($r.living_area | trim | area) as $a
| ($r.scraping_date | trim | date) as $date
| $r
| .price = $p.n
| if $p.cur then .currency = $p.cur else . end
| if has("living_area") then .living_area = $a else . end
| if has("scraping_date") then .scraping_date = $date else . end
| .rooms = (.rooms | trim
    | if . == "" then null elif type == "string" then (tonumber? // null) else . end)
| .property_type |= (trim | ascii_downcase
    | {"wohnung": "apartment", "appartement": "apartment",
       "maison": "house", "haus": "house"}[.] // .)
| .price_per_m2 = (if (.price | type) == "number" and (.living_area | type) == "number"
                      and .living_area != 0
                   then (.price / .living_area * 100 | round) / 100 else null end)
| . as $c
| reduce ("id", "city", "price", "currency", "living_area", "rooms",
          "property_type", "scraping_date", "price_per_m2") as $k
    ({}; if $c | has($k) then .[$k] = $c[$k] else . end)
