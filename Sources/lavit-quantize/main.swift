import LavitQuantizeCLI

LavitQuantize.main()
