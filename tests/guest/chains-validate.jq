# Validate a JSON document against the JSON Schema subset that
# bpf/memmap-chains.schema.json uses (type, enum, minimum, required,
# properties, additionalProperties: false, items, minItems).
# usage: jq -r --slurpfile schema SCHEMA.json -f chains-validate.jq DOC.json
# Prints one line per violation ("$.path: problem"); no output = valid.

def types($s):
  if $s.type == null then null
  elif ($s.type | type) == "array" then $s.type
  else [$s.type] end;

def type_ok($ts):
  . as $v | ($v | type) as $vt
  | any($ts[]; . == $vt or (. == "integer" and $vt == "number" and ($v | floor) == $v));

def check($s; $path):
  . as $v
  | (types($s) as $ts
     | if $ts != null and ($v | type_ok($ts) | not)
       then "\($path): is \($v | type), want \($ts | join("|"))" else empty end),
    (if $s.enum != null and (any($s.enum[]; . == $v) | not)
     then "\($path): \($v | tojson) not one of \($s.enum | tojson)" else empty end),
    (if $s.minimum != null and ($v | type) == "number" and $v < $s.minimum
     then "\($path): \($v) below minimum \($s.minimum)" else empty end),
    (if ($v | type) == "object" then
       (($s.required // [])[] as $r
        | if ($v | has($r)) then empty else "\($path): missing \"\($r)\"" end),
       (if $s.additionalProperties == false then
          ($v | keys[]) as $k
          | if (($s.properties // {}) | has($k)) then empty
            else "\($path): unexpected \"\($k)\"" end
        else empty end),
       (($s.properties // {}) | to_entries[] as $p
        | if ($v | has($p.key)) then ($v[$p.key] | check($p.value; "\($path).\($p.key)"))
          else empty end)
     else empty end),
    (if ($v | type) == "array" then
       (if $s.minItems != null and ($v | length) < $s.minItems
        then "\($path): \($v | length) items, want at least \($s.minItems)" else empty end),
       (if $s.items != null then
          range(0; $v | length) as $i | ($v[$i] | check($s.items; "\($path)[\($i)]"))
        else empty end)
     else empty end);

check($schema[0]; "$")
