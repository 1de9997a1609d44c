window.YTD.note_tweet.part0 = [
  {
    "noteTweet" : {
      "noteTweetId" : "1848412065887165193",
      "updatedAt" : "2024-10-21T17:12:33.000Z",
      "lifecycle" : {
        "value" : "1",
        "name" : "Active",
        "originalName" : "Active",
        "annotations" : { }
      },
      "createdAt" : "2024-10-21T17:12:33.000Z",
      "core" : {
        "styletags" : [ ],
        "urls" : [ ],
        "text" : "Starling murmuration at the reserve tonight — maybe 300,000 birds. They came in from the west in long ribbons just after sunset, joined into one great cloud over the reedbed and poured down into the reeds in under two minutes. The sound as they settle is like surf on shingle. If you go: park early, bring a torch, and stay quiet afterwards. 🌅",
        "mentions" : [ ],
        "cashtags" : [ ],
        "hashtags" : [ ]
      }
    }
  },
  {
    "noteTweet" : {
      "noteTweetId" : "1840815162127293192",
      "updatedAt" : "2024-09-30T18:05:10.000Z",
      "lifecycle" : {
        "value" : "1",
        "name" : "Active",
        "originalName" : "Active",
        "annotations" : { }
      },
      "createdAt" : "2024-09-30T18:05:10.000Z",
      "core" : {
        "styletags" : [ ],
        "urls" : [ ],
        "text" : "Thread worth your time before the winter counts. Bog Notes explain why we keep under-counting snipe on wet grassland: birds sit tight until you are almost on them, then flush in ones and twos, and the observer counts the same bird twice when it drops in again fifty metres ahead. Walk in lines, agree boundaries, and note the flush direction 👇",
        "mentions" : [ ],
        "cashtags" : [ ],
        "hashtags" : [ ]
      }
    }
  },
  {
    "noteTweet" : {
      "noteTweetId" : "1823610504606653191",
      "updatedAt" : "2024-08-14T06:40:00.000Z",
      "lifecycle" : {
        "value" : "1",
        "name" : "Active",
        "originalName" : "Active",
        "annotations" : { }
      },
      "createdAt" : "2024-08-14T06:40:00.000Z",
      "core" : {
        "styletags" : [ ],
        "urls" : [ ],
        "text" : "Mid-August on the Levels & the reedbeds have gone quiet. The warblers are fattening up on aphids before the long flight south, the young marsh harriers are practising food passes over the rhynes, and the first wigeon are back on the flooded field by the pumping station. Twelve of them, whistling. Autumn starts here, every year, a little earlier than you think.",
        "mentions" : [ ],
        "cashtags" : [ ],
        "hashtags" : [ ]
      }
    }
  },
  {
    "noteTweet" : {
      "noteTweetId" : "1787019396510653194",
      "updatedAt" : "2024-05-05T07:20:00.000Z",
      "lifecycle" : {
        "value" : "1",
        "name" : "Active",
        "originalName" : "Active",
        "annotations" : { }
      },
      "createdAt" : "2024-05-05T07:20:00.000Z",
      "core" : {
        "styletags" : [ ],
        "urls" : [ ],
        "text" : "Deleted this post by mistake and cannot get it back, so for the record: the Ham Wall bittern count this spring was 46 booming males, the highest since monitoring began. Years of reedbed management and water-level work have paid off. Huge thanks to every volunteer who stood in the cold at 5am listening.",
        "mentions" : [ ],
        "cashtags" : [ ],
        "hashtags" : [ ]
      }
    }
  }
]