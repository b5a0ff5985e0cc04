-- etl-fetch FILE.csv: every value a string, an empty field "" (not NULL)
COPY (SELECT * FROM read_csv('@IN@', all_varchar = true, nullstr = '\N'))
TO '@OUT@' (FORMAT json);
