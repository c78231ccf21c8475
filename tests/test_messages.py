"""pwocr's log messages as the CLI prints them: one bare line each on stderr, after the command's prefix."""

import logging

from pwocr.messages import print_messages


def test_messages_print_once_each_after_the_prefix_however_often_configured(capsys):
    log = logging.getLogger("pwocr.somewhere")
    print_messages("pwocr: ")
    print_messages("pwocr: ")  # a second run of main() in one process: still one line per message
    log.info("wrote %s", "out.csv")
    log.debug("not shown")
    assert capsys.readouterr().err == "pwocr: wrote out.csv\n"
    print_messages("", level=logging.ERROR)
    log.warning("quiet on other ranks")
    log.error("%d%% of %s", 50, "rows")
    assert capsys.readouterr().err == "50% of rows\n"
    print_messages("pwocr: ")  # as the CLI leaves it for later tests
