var user_details =  {
  "expanded_url" : "http:\/\/orcharddays.example.net",
  "screen_name" : "orchard_days",
  "location" : "Herefordshire",
  "url" : "https:\/\/t.co\/8dJvQm2Lx0",
  "full_name" : "Orchard Days",
  "bio" : "Apples, pears, the odd plum.",
  "id" : "251837264",
  "created_at" : "2011-02-14 09:05:31 +0000",
  "display_url" : "orcharddays.example.net"
}