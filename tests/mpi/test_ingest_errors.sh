#!/usr/bin/env bash
# Bad input gets a clear error that names the file, line, key or field, a
# non-zero exit, and no output left behind under a final name.
. "$(dirname "$0")/lib.sh"
cat > job.ini <<'INI'
[job]
years = 2002-2016
workdir = out
[input]
files = good.csv
INI
cat > good.csv <<'CSV'
year,firm_id,firm_name,flow,hs_code,value_usd,trade_mode,ownership,city_code
2005,F1,Alpha Electronics,import,85423100,100.50,一般贸易,私营企业,440305
2005,F1,Alpha Electronics,export,85423100,"1,000",一般贸易,私营企业,440305
2005,F2,"Beta, ""Quoted"" Co",export,8542310,10,一般贸易,国有企业,3205
CSV
# 1. a pattern that matches nothing
expect_fail 1 "matches no file" ingest job.ini --in missing_*.csv
# 2. not a regular file
mkdir -p adir.csv
expect_fail 1 "adir.csv is not a regular file" ingest job.ini --in adir.csv
# 3. a header without a required field names the field and lists the header
sed '1s/value_usd/amount/' good.csv > nohdr.csv
expect_fail 1 "nohdr.csv: the header has no column 'value_usd'" ingest job.ini --in nohdr.csv
[ ! -e out/records.h5 ] || fail "records.h5 exists after a failed ingest"
# 4. unknown keys and sections, bad values: usage errors (exit 2) naming file:line
printf '[input]\nfiles = good.csv\nfilez = x\n' > typo.ini
expect_fail 2 "typo.ini:3: unknown key 'filez' in \[input\]" ingest typo.ini
printf '[inputs]\nfiles = good.csv\n' > sect.ini
expect_fail 2 "sect.ini:2: unknown section \[inputs\]" ingest sect.ini
printf '[job]\nyears = 2002-20x6\n' > years.ini
expect_fail 2 "years.ini:2: job.years = '2002-20x6'" ingest years.ini
expect_fail 2 "unknown job key 'input.nonsense'" ingest job.ini --set input.nonsense=1
expect_fail 2 "no HS vintage covers 2001" ingest job.ini --set job.years=2001-2016
# 5. too many malformed rows: fail, keep rejects.csv, write no records.h5
expect_fail 1 "2 of 3 rows (66.667%) are malformed" ingest job.ini --set input.reject_min=0
[ -f out/rejects.csv ] || fail "rejects.csv missing after the threshold failure"
[ ! -e out/records.h5 ] || fail "records.h5 written despite the threshold"
grep -q '^"good.csv",3,value,' out/rejects.csv || fail "rejects.csv lacks good.csv line 3 (value): $(cat out/rejects.csv)"
grep -q '^"good.csv",4,hs_code,' out/rejects.csv || fail "rejects.csv lacks good.csv line 4 (hs_code)"
ok "rejects.csv names file, line and reason"
# 6. the same input passes with the default minimum, and nothing partial remains
run 1 ingest job.ini > report.txt
[ -f out/records.h5 ] || fail "records.h5 missing"
ls -a out | grep -q partial && fail "a partial file was left: $(ls -a out)"
ok "no partial files left behind"
# 7. an unreadable byte sequence in a GBK file is a bad row (encoding), not a crash
printf 'year,firm_id,firm_name,flow,hs_code,value_usd,trade_mode,ownership,city_code\n' > enc.csv
printf '2005,F1,\xc3\xb3\xd2\xd7,\xbd\xf8\xbf\xda,85423100,1,x,y,4403\n' >> enc.csv
printf '2005,F1,ok,\xbd\xf8\xbf\xda,85423100,1,x,\xff\xff,4403\n' >> enc.csv
run 1 ingest job.ini --in enc.csv --set input.encoding=gbk > /dev/null
grep -q '^"enc.csv",3,encoding,' out/rejects.csv || fail "invalid GBK not reported: $(cat out/rejects.csv)"
ok "invalid GBK bytes are rejected as encoding with their line"
