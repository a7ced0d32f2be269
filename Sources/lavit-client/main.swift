import LavitClient

LavitClientCommand.main()
