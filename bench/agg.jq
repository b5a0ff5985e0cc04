# etl-agg -g city -a count,mean:price,min:price,max:price,median:price in
# jq (-n -c -f): group_by over the two fields, median as numpy's.
[inputs | {city, price}] | group_by(.city)[]
| (map(.price | select(type == "number")) | sort) as $p
| ($p | length) as $n
| {city: .[0].city, count: length,
   price_mean: (if $n > 0 then ($p | add) / $n else null end),
   price_min: $p[0], price_max: $p[-1],
   price_median: (if $n == 0 then null
                  elif $n % 2 == 1 then $p[($n - 1) / 2]
                  else ($p[$n / 2 - 1] + $p[$n / 2]) / 2 end)}
