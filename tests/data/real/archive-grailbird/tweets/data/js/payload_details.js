var payload_details = {
  "tweets" : 5,
  "created_at" : "2016-04-30 10:12:54 +0000",
  "lang" : "en"
}