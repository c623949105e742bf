from python_producer.cli import main

raise SystemExit(main())
