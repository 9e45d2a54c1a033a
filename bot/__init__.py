"""Chat-ops bot: investigate alerts, explore attack paths and approve responses from Slack or Matrix.

bot/core.py holds everything transport-agnostic (its parser, transport types, settings and
progress message in bot/commands.py, chat.py, settings.py, progress.py); bot/slack.py and
bot/matrix.py adapt it to each chat; bot/cli.py runs one in the foreground (`twinsight bot slack|matrix`).
"""
