window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1848412065962670664"
          ],
          "editableUntil" : "2024-10-21T18:12:33.361Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/android\" rel=\"nofollow\">Twitter for Android</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "274"
      ],
      "favorite_count" : "61",
      "id_str" : "1848412065962670664",
      "truncated" : false,
      "retweet_count" : "9",
      "id" : "1848412065962670664",
      "created_at" : "Mon Oct 21 17:12:33 +0000 2024",
      "favorited" : false,
      "full_text" : "Starling murmuration at the reserve tonight — maybe 300,000 birds. They came in from the west in long ribbons just after sunset, joined into one great cloud over the reedbed and poured down into the reeds in under two minutes. The sound as they settle is like surf on shing…",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1840815162202798663"
          ],
          "editableUntil" : "2024-09-30T19:05:10.361Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [
          {
            "url" : "https://t.co/Zq8LmN3pQr",
            "expanded_url" : "https://twitter.com/bog_notes/status/1840723264926646277",
            "display_url" : "twitter.com/bog_notes/stat…",
            "indices" : [
              "255",
              "278"
            ]
          }
        ]
      },
      "display_text_range" : [
        "0",
        "278"
      ],
      "favorite_count" : "12",
      "id_str" : "1840815162202798663",
      "truncated" : false,
      "retweet_count" : "3",
      "id" : "1840815162202798663",
      "created_at" : "Mon Sep 30 18:05:10 +0000 2024",
      "favorited" : false,
      "full_text" : "Thread worth your time before the winter counts. Bog Notes explain why we keep under-counting snipe on wet grassland: birds sit tight until you are almost on them, then flush in ones and twos, and the observer counts the same bird twice when it drops in… https://t.co/Zq8LmN3pQr",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1823610504682158662"
          ],
          "editableUntil" : "2024-08-14T07:40:00.361Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/android\" rel=\"nofollow\">Twitter for Android</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "274"
      ],
      "favorite_count" : "40",
      "id_str" : "1823610504682158662",
      "truncated" : false,
      "retweet_count" : "5",
      "id" : "1823610504682158662",
      "created_at" : "Wed Aug 14 06:40:00 +0000 2024",
      "favorited" : false,
      "full_text" : "Mid-August on the Levels &amp; the reedbeds have gone quiet. The warblers are fattening up on aphids before the long flight south, the young marsh harriers are practising food passes over the rhynes, and the first wigeon are back on the flooded field by the pumping station. Tw…",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1808017340701358661"
          ],
          "editableUntil" : "2024-07-02T06:58:20.361Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/android\" rel=\"nofollow\">Twitter for Android</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "52"
      ],
      "favorite_count" : "18",
      "id_str" : "1808017340701358661",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1808017340701358661",
      "created_at" : "Tue Jul 02 05:58:20 +0000 2024",
      "favorited" : false,
      "full_text" : "Blaukehlchen am Deich! Première fois cette année. 💙🐦",
      "lang" : "de"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1800242195798702660"
          ],
          "editableUntil" : "2024-06-10T20:02:41.361Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/android\" rel=\"nofollow\">Twitter for Android</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "6"
      ],
      "favorite_count" : "4",
      "id_str" : "1800242195798702660",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1800242195798702660",
      "created_at" : "Mon Jun 10 19:02:41 +0000 2024",
      "favorited" : false,
      "full_text" : "Ouzel!",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1775048286739118659"
          ],
          "editableUntil" : "2024-04-02T07:31:05.361Z",
          "editsRemaining" : "5",
          "isEditEligible" : false
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/android\" rel=\"nofollow\">Twitter for Android</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Heron Watch 🪶",
            "screen_name" : "heron_watch",
            "indices" : [
              "3",
              "15"
            ],
            "id_str" : "2874455661",
            "id" : "2874455661"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "127"
      ],
      "favorite_count" : "0",
      "id_str" : "1775048286739118659",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1775048286739118659",
      "created_at" : "Tue Apr 02 06:31:05 +0000 2024",
      "favorited" : false,
      "full_text" : "RT @heron_watch: Spoonbills have bred on the Levels for the first time in living memory. Details &amp; photos in the thread below 👇",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1766520532703918658"
          ],
          "editableUntil" : "2024-03-09T18:44:50.361Z",
          "editsRemaining" : "5",
          "isEditEligible" : false
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"http://twitter.com/download/android\" rel=\"nofollow\">Twitter for Android</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [
          {
            "name" : "Heron Watch 🪶",
            "screen_name" : "heron_watch",
            "indices" : [
              "0",
              "12"
            ],
            "id_str" : "2874455661",
            "id" : "2874455661"
          }
        ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "13",
        "84"
      ],
      "favorite_count" : "7",
      "in_reply_to_status_id_str" : "1766496667038646279",
      "id_str" : "1766520532703918658",
      "in_reply_to_user_id" : "2874455661",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1766520532703918658",
      "in_reply_to_status_id" : "1766496667038646279",
      "created_at" : "Sat Mar 09 17:44:50 +0000 2024",
      "favorited" : false,
      "full_text" : "@heron_watch Brilliant news – we heard them bill-clattering from the hide last week.",
      "lang" : "en",
      "in_reply_to_screen_name" : "heron_watch",
      "in_reply_to_user_id_str" : "2874455661"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1746805215140526657"
          ],
          "editableUntil" : "2024-01-15T09:03:12.361Z",
          "editsRemaining" : "5",
          "isEditEligible" : true
        }
      },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ ],
        "urls" : [ ]
      },
      "display_text_range" : [
        "0",
        "73"
      ],
      "favorite_count" : "25",
      "id_str" : "1746805215140526657",
      "truncated" : false,
      "retweet_count" : "2",
      "id" : "1746805215140526657",
      "created_at" : "Mon Jan 15 08:03:12 +0000 2024",
      "favorited" : false,
      "full_text" : "First frost on the reedbed this morning. Bearded tits pinging everywhere.",
      "lang" : "en"
    }
  }
]