import LavitCaptureCLI

CaptureCommand.main()
