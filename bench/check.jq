# The condition of check.schema.json, for jq -c -f.
select((.id | type) == "string"
    and (.price | type) == "number" and .price >= 10000 and .price <= 50000000
    and (.living_area | type) == "number"
    and .living_area >= 10 and .living_area <= 500
    and (.property_type | IN("apartment", "house", "Wohnung", "Haus",
                             "appartement", "maison", "Apartment", "House")))
