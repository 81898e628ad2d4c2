print("psbench: nothing yet")
