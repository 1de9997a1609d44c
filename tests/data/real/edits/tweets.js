window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1633010895418417728",
            "1633012004731338752"
          ],
          "editableUntil" : "2023-03-07T08:45:12.000Z",
          "editsRemaining" : "4",
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
        "87"
      ],
      "favorite_count" : "2",
      "id_str" : "1633010895418417728",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1633010895418417728",
      "created_at" : "Tue Mar 07 07:45:12 +0000 2023",
      "favorited" : false,
      "full_text" : "Marsh survey notes are up on the club blog, thanks to everyone who came out in the rain",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "edit" : {
          "initialTweetId" : "1632808281175089728",
          "editControlInitial" : {
            "editTweetIds" : [
              "1632808281175089728",
              "1632811196216369728"
            ],
            "editableUntil" : "2023-03-06T19:20:05.000Z",
            "editsRemaining" : "4",
            "isEditEligible" : true
          }
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
        "73"
      ],
      "favorite_count" : "2",
      "id_str" : "1632811196216369728",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1632811196216369728",
      "created_at" : "Mon Mar 06 18:31:40 +0000 2023",
      "favorited" : false,
      "full_text" : "The heron came back to the north pool at dusk and stood there for an hour",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1632808281175089728",
            "1632811196216369728"
          ],
          "editableUntil" : "2023-03-06T19:20:05.000Z",
          "editsRemaining" : "4",
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
        "73"
      ],
      "favorite_count" : "2",
      "id_str" : "1632808281175089728",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1632808281175089728",
      "created_at" : "Mon Mar 06 18:20:05 +0000 2023",
      "favorited" : false,
      "full_text" : "The heron came bakc to the north pool at dusk and stood there for an hour",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "1632320043217969728"
          ],
          "editableUntil" : "2023-03-05T11:00:00.000Z",
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
        "59"
      ],
      "favorite_count" : "2",
      "id_str" : "1632320043217969728",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1632320043217969728",
      "created_at" : "Sun Mar 05 10:00:00 +0000 2023",
      "favorited" : false,
      "full_text" : "Counting dragonflies at the pond today, eleven before lunch",
      "lang" : "en"
    }
  }
]