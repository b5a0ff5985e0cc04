"""Reference for etl-params's date ranges: python3 dates.py FROM TO."""
import datetime
import json
import sys

a = datetime.date.fromisoformat(sys.argv[1])
b = datetime.date.fromisoformat(sys.argv[2])
print(json.dumps([(a + datetime.timedelta(days=i)).isoformat()
                  for i in range((b - a).days + 1)], separators=(",", ":")))
