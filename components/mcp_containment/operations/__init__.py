"""Operations on a deployed stack through the user's Pulumi CLI (Automation API): the work
behind commands such as ``containment teardown``."""
