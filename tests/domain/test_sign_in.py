"""The rule that decides what signing in with a provider's identity does: exact cases, and the properties that keep
accounts safe from takeover whatever the combination."""

from __future__ import annotations

from hypothesis import given, strategies as st

from domain.sign_in import ExistingAccount, SignInOutcome, VerifiedIdentity, may_unlink, sign_in_outcome


def identity(email: str = "kim@gmail.com", authoritative: bool = True) -> VerifiedIdentity:
    return VerifiedIdentity("google", "1", email, authoritative, "Kim", "Lee")


identities = st.builds(VerifiedIdentity, st.sampled_from(["google", "facebook"]), st.text(min_size=1),
                       st.sampled_from(["", "kim@gmail.com", "kim@example.com"]), st.booleans(), st.text(),
                       st.text())
holders = st.none() | st.builds(ExistingAccount, st.booleans(), st.booleans())


def test_exact_outcomes() -> None:
    verified_password = ExistingAccount(email_verified=True, has_password=True)
    unverified_password = ExistingAccount(email_verified=False, has_password=True)
    unverified_federated = ExistingAccount(email_verified=False, has_password=False)
    assert sign_in_outcome(True, identity(email=""), unverified_password) is SignInOutcome.SIGN_IN
    assert sign_in_outcome(False, identity(email=""), None) is SignInOutcome.EMAIL_REQUIRED
    assert sign_in_outcome(False, identity(), None) is SignInOutcome.CREATE_ACCOUNT
    assert sign_in_outcome(False, identity(), verified_password) is SignInOutcome.LINK_AUTOMATICALLY
    assert sign_in_outcome(False, identity(), unverified_password) is SignInOutcome.SIGN_IN_WITH_PASSWORD_FIRST
    assert sign_in_outcome(False, identity(), unverified_federated) is SignInOutcome.LINK_REQUIRED
    assert sign_in_outcome(False, identity(authoritative=False), verified_password) is SignInOutcome.LINK_REQUIRED


@given(identities, holders)
def test_an_identity_joins_an_account_only_when_it_owns_the_address_and_the_account_is_verified(
        found: VerifiedIdentity, holder: ExistingAccount | None) -> None:
    outcome = sign_in_outcome(False, found, holder)
    if outcome is SignInOutcome.LINK_AUTOMATICALLY:
        assert found.email_authoritative and holder is not None and holder.email_verified
    if holder is not None and found.email:
        assert outcome is not SignInOutcome.CREATE_ACCOUNT  # never a second account for one address


@given(identities, holders)
def test_a_known_identity_always_signs_in_to_its_own_account(found: VerifiedIdentity,
                                                             holder: ExistingAccount | None) -> None:
    assert sign_in_outcome(True, found, holder) is SignInOutcome.SIGN_IN


@given(st.booleans(), st.integers(min_value=1, max_value=5))
def test_unlinking_leaves_a_way_to_sign_in(has_password: bool, identities: int) -> None:
    if may_unlink(has_password, identities):
        assert has_password or identities - 1 >= 1
    else:
        assert (has_password, identities) == (False, 1)
