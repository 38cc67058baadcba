from kpiwatch.cli import main

main()
