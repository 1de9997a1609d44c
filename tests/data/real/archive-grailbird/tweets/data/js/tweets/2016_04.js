Grailbird.data.tweets_2016_04 = 
 [ {
  "source" : "\u003Ca href=\"http:\/\/twitter.com\/download\/android\" rel=\"nofollow\"\u003ETwitter for Android\u003C\/a\u003E",
  "entities" : {
    "user_mentions" : [ {
      "name" : "Quince Grower",
      "screen_name" : "quince_grower",
      "indices" : [ 0, 14 ],
      "id_str" : "48211907",
      "id" : 48211907
    } ],
    "media" : [ ],
    "hashtags" : [ ],
    "urls" : [ ]
  },
  "in_reply_to_status_id_str" : "722125205140406279",
  "geo" : { },
  "id_str" : "722145933390774277",
  "in_reply_to_user_id" : 48211907,
  "text" : "@quince_grower how long before you saw the first leaves?",
  "id" : 722145933390774277,
  "in_reply_to_status_id" : 722125205140406279,
  "created_at" : "2016-04-18 19:33:02 +0000",
  "in_reply_to_screen_name" : "quince_grower",
  "in_reply_to_user_id_str" : "48211907",
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
    "user_mentions" : [ {
      "name" : "Quince Grower",
      "screen_name" : "quince_grower",
      "indices" : [ 3, 17 ],
      "id_str" : "48211907",
      "id" : 48211907
    } ],
    "media" : [ ],
    "hashtags" : [ {
      "text" : "grafting",
      "indices" : [ 76, 85 ]
    } ],
    "urls" : [ ]
  },
  "geo" : { },
  "id_str" : "719453798396854278",
  "text" : "RT @quince_grower: Whip-and-tongue grafts took on all six pear rootstocks \u2014 #grafting",
  "retweeted_status" : {
    "source" : "\u003Ca href=\"http:\/\/twitter.com\" rel=\"nofollow\"\u003ETwitter Web Client\u003C\/a\u003E",
    "entities" : {
      "user_mentions" : [ ],
      "media" : [ ],
      "hashtags" : [ {
        "text" : "grafting",
        "indices" : [ 58, 67 ]
      } ],
      "urls" : [ ]
    },
    "geo" : { },
    "id_str" : "719435498648502363",
    "text" : "Whip-and-tongue grafts took on all six pear rootstocks \u2014 #grafting",
    "id" : 719435498648502363,
    "created_at" : "2016-04-11 08:02:44 +0000",
    "user" : {
      "name" : "Quince Grower",
      "screen_name" : "quince_grower",
      "protected" : false,
      "id_str" : "48211907",
      "profile_image_url_https" : "https:\/\/pbs.twimg.com\/profile_images\/378800000412\/qg_normal.png",
      "id" : 48211907,
      "verified" : false
    }
  },
  "id" : 719453798396854278,
  "created_at" : "2016-04-11 09:15:27 +0000",
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
  "source" : "\u003Ca href=\"http:\/\/twitter.com\" rel=\"nofollow\"\u003ETwitter Web Client\u003C\/a\u003E",
  "entities" : {
    "user_mentions" : [ ],
    "media" : [ ],
    "hashtags" : [ ],
    "urls" : [ ]
  },
  "geo" : { },
  "id_str" : "716170509808566275",
  "text" : "Blossom on the old Bramley at last, a week later than last year. Bees were out before me this morning",
  "id" : 716170509808566275,
  "created_at" : "2016-04-02 07:48:50 +0000",
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