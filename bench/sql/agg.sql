-- etl-agg -g city -a count,mean:price,min:price,max:price,median:price
COPY (SELECT city, count(*) AS count, avg(price) AS price_mean,
	min(price) AS price_min, max(price) AS price_max,
	median(price) AS price_median
	FROM read_json('@IN@', format = 'newline_delimited')
	GROUP BY city)
TO '@OUT@' (FORMAT json);
