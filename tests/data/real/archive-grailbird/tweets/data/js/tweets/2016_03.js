Grailbird.data.tweets_2016_03 = 
 [ {
  "source" : "\u003Ca href=\"http:\/\/twitter.com\/download\/android\" rel=\"nofollow\"\u003ETwitter for Android\u003C\/a\u003E",
  "entities" : {
    "user_mentions" : [ ],
    "media" : [ ],
    "hashtags" : [ ],
    "urls" : [ {
      "indices" : [ 67, 90 ],
      "url" : "https:\/\/t.co\/Zr4mQ8vKp2",
      "expanded_url" : "http:\/\/orcharddays.example.net\/2016\/03\/plum-pruning",
      "display_url" : "orcharddays.example.net\/2016\/03\/plum-\u2026"
    } ]
  },
  "geo" : { },
  "id_str" : "714124868055990274",
  "text" : "Pruned the plum before the sap rises. Wrote up what I cut and why: https:\/\/t.co\/Zr4mQ8vKp2",
  "id" : 714124868055990274,
  "created_at" : "2016-03-27 16:20:11 +0000",
  "user" : {
    "name" : "Orchard Days",
    "screen_name" : "orchard_days",
    "protected" : false,
    "id_str" : "251837264",
    "profile_image_url_https" : "https:\/\/pbs.twimg.com\/profile_images\/593112058102198272\/kP3x8QzR_normal.jpg",
    "id" : 251837264,
    "verified" : false
  }
}, {
  "source" : "\u003Ca href=\"http:\/\/twitter.com\/download\/android\" rel=\"nofollow\"\u003ETwitter for Android\u003C\/a\u003E",
  "entities" : {
    "user_mentions" : [ ],
    "media" : [ ],
    "hashtags" : [ ],
    "urls" : [ ]
  },
  "geo" : { },
  "id_str" : "706087524627382273",
  "text" : "Frost again last night \u2744 the cider apples don\u2019t mind, the apricot very much does",
  "id" : 706087524627382273,
  "created_at" : "2016-03-05 12:02:39 +0000",
  "user" : {
    "name" : "Orchard Days",
    "screen_name" : "orchard_days",
    "protected" : false,
    "id_str" : "251837264",
    "profile_image_url_https" : "https:\/\/pbs.twimg.com\/profile_images\/593112058102198272\/kP3x8QzR_normal.jpg",
    "id" : 251837264,
    "verified" : false
  }
} ]