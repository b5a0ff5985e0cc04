-- etl-check -s check.schema.json
COPY (SELECT * FROM read_json('@IN@', format = 'newline_delimited')
	WHERE id IS NOT NULL
	AND price BETWEEN 10000 AND 50000000
	AND living_area BETWEEN 10 AND 500
	AND property_type IN ('apartment', 'house', 'Wohnung', 'Haus',
	    'appartement', 'maison', 'Apartment', 'House'))
TO '@OUT@' (FORMAT json);
