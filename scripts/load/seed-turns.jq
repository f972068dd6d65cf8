# LoCoMo turns in session order (ids prefixed by their position), the first $n of them, as AppendTurns batches of
# 200: {"turns": [{id, role, name, content}, ...]} per line. Used by run.sh and latency.sh; reads the data at run time.
  [ .[] as $c
    | [$c | keys[] | select(test("^session_[0-9]+$"))] | sort_by(ltrimstr("session_") | tonumber)[]
    | $c[.][] | {speaker_a: $c.speaker_a, t: .} ]
  | .[:$n] | to_entries
  | map({id: ("t\(.key + 1)-" + (.value.t.dia_id | gsub("[^A-Za-z0-9._:-]"; "_"))),
         role: (if .value.t.speaker == .value.speaker_a then "user" else "assistant" end),
         name: (.value.t.speaker | gsub("[^A-Za-z0-9_-]"; "_")),
         content: (.value.t.text + (if .value.t.blip_caption then " [shares a photo: " + .value.t.blip_caption + "]" else "" end))})
  | _nwise(200) | {turns: .}
