"""SageMaker Studio user profiles, spaces and apps, as the SageMaker API keeps them.

moto 5.2.5 has Studio domains but no user profiles, spaces or apps, and its AddTags/ListTags
answer HTTP 500 for their ARNs (and for a domain created without tags). The scheduler parks
and pre-warms Studio apps, and the enforcer and tagger read profiles and spaces, so this
module adds Create/Describe/List/Delete for all three (and UpdateUserProfile/UpdateSpace) on
moto's own SageMaker backend. The state sits on the backend object, so `/moto-api/reset`
clears it with the rest.

As AWS does it:
- errors: ResourceNotFound for an unknown domain (DescribeDomain and DeleteDomain too, where
  moto answers ValidationException), profile, space or app; ResourceInUse for a duplicate,
  for CreateApp over a live app, for deleting a profile or space that still has live apps and
  a domain that still has profiles or spaces; ValidationException when both or neither of
  UserProfileName and SpaceName are given;
- an app's ResourceSpec is the request's, filled in from the owner's (else the domain's
  default user or space settings') `<AppType>AppSettings.DefaultResourceSpec`;
- an app's tags are the request's plus the owner's and the domain's at creation (AWS copies a
  domain's and a profile's tags to the apps launched after the tagging, not before);
- DeleteApp leaves the app listed with Status `Deleted` (AWS lists deleted apps for a while);
  creating it again replaces that record;
- ListApps items carry no LastUserActivityTimestamp (DescribeApp does);
- AddTags overwrites a key instead of adding a second entry, on every SageMaker ARN;
- the Resource Groups Tagging API lists profiles, spaces and apps (`sagemaker:user-profile`,
  `sagemaker:space`, `sagemaker:app`; not Deleted apps) with their tags.

Not as AWS does it: an app is `InService` as soon as CreateApp answers and `Deleted` as soon as
DeleteApp answers (AWS passes through Pending and Deleting); profiles and spaces are gone as
soon as Delete* answers.

Test levers (reserved tags, on CreateApp or AddTags to an app's ARN; consumed, never stored):
- `emulator:last-user-activity` = epoch seconds sets LastUserActivityTimestamp (else it is the
  CreationTime), so an app can look idle;
- `emulator:app-status` = an AppStatus (e.g. `Pending`, `Failed`) sets the app's Status.
"""

import itertools

from moto.core.resource_tagging import TaggedResource
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

import paging

LAST_ACTIVITY_TAG = "emulator:last-user-activity"
APP_STATUS_TAG = "emulator:app-status"
APP_STATUSES = ("Deleted", "Deleting", "Failed", "InService", "Pending")
PROFILE, SPACE = "UserProfileName", "SpaceName"
# Where an app type's DefaultResourceSpec is, when not in `<AppType>AppSettings`.
SETTINGS_KEY = {"RSessionGateway": "RSessionAppSettings"}
_uids = itertools.count(200001)


class Studio:
    """The Studio state of one backend (account and region)."""

    def __init__(self):
        self.profiles = {}  # (domain id, profile name) -> UserProfile
        self.spaces = {}  # (domain id, space name) -> Space
        self.apps = {}  # (domain id, PROFILE|SPACE, owner name, app type, app name) -> App
        # Deleted apps an app of the same key replaced: AWS lists both for a while.
        self.replaced_apps = []


def studio(backend):
    """The backend's Studio state, made on first use; a reset drops the backend and with it this."""
    return backend.__dict__.setdefault("_studio", Studio())


class UserProfile:
    def __init__(self, backend, domain_id, name, settings, sso_identifier, sso_value, tags):
        self.domain_id, self.name = domain_id, name
        self.arn = arn_formatter(
            "user-profile", f"{domain_id}/{name}", backend.account_id, backend.region_name
        )
        self.settings = settings
        self.sso = (sso_identifier, sso_value)
        self.tags = list(tags or [])
        self.uid = str(next(_uids))
        self.creation_time = self.last_modified_time = utcnow()

    def summary(self):
        return {
            "DomainId": self.domain_id,
            "UserProfileName": self.name,
            "Status": "InService",
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }

    def describe(self):
        return {
            **self.summary(),
            "UserProfileArn": self.arn,
            "HomeEfsFileSystemUid": self.uid,
            "SingleSignOnUserIdentifier": self.sso[0],
            "SingleSignOnUserValue": self.sso[1],
            "UserSettings": self.settings,
        }


class Space:
    def __init__(self, backend, domain_id, name, settings, ownership, sharing, display_name, tags):
        self.domain_id, self.name = domain_id, name
        self.arn = arn_formatter(
            "space", f"{domain_id}/{name}", backend.account_id, backend.region_name
        )
        self.settings, self.ownership, self.sharing = settings, ownership, sharing
        self.display_name = display_name
        self.tags = list(tags or [])
        self.uid = str(next(_uids))
        studio_url = f"https://{domain_id}.studio.{backend.region_name}.sagemaker.aws"
        self.url = f"{studio_url}/jupyterlab/default/spaces/{name}"
        self.creation_time = self.last_modified_time = utcnow()

    def _common(self):
        return {
            "DomainId": self.domain_id,
            "SpaceName": self.name,
            "Status": "InService",
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "SpaceDisplayName": self.display_name,
        }

    def summary(self):
        settings = self.settings or {}
        return {
            **self._common(),
            "SpaceSettingsSummary": {
                k: settings[k]
                for k in ("AppType", "RemoteAccess", "SpaceStorageSettings")
                if k in settings
            },
            "SpaceSharingSettingsSummary": self.sharing,
            "OwnershipSettingsSummary": self.ownership,
        }

    def describe(self):
        return {
            **self._common(),
            "SpaceArn": self.arn,
            "HomeEfsFileSystemUid": self.uid,
            "SpaceSettings": self.settings,
            "OwnershipSettings": self.ownership,
            "SpaceSharingSettings": self.sharing,
            "Url": self.url,
        }


class App:
    def __init__(self, backend, key, resource_spec, recovery_mode, tags):
        self.key = key
        domain_id, self.owner_kind, self.owner, self.app_type, self.name = key
        self.domain_id = domain_id
        resource = f"{domain_id}/{self.owner}/{self.app_type.lower()}/{self.name}"
        self.arn = arn_formatter("app", resource, backend.account_id, backend.region_name)
        self.resource_spec = resource_spec
        self.recovery_mode = recovery_mode
        self.tags = list(tags or [])
        self.status = "InService"
        self.creation_time = self.last_user_activity = self.last_health_check = utcnow()

    def steer(self, reserved):
        """Apply the reserved test tags (see the module docstring)."""
        if LAST_ACTIVITY_TAG in reserved:
            self.last_user_activity = paging.epoch_tag(
                LAST_ACTIVITY_TAG, reserved[LAST_ACTIVITY_TAG]
            )
        if APP_STATUS_TAG in reserved:
            status = reserved[APP_STATUS_TAG]
            if status not in APP_STATUSES:
                raise ValidationError(
                    message=f"Tag {APP_STATUS_TAG} must be one of {APP_STATUSES}."
                )
            self.status = status

    def live(self):
        """Not Deleted: a live app blocks CreateApp of the same app and the owner's deletion."""
        return self.status != "Deleted"

    def summary(self):
        return {
            "DomainId": self.domain_id,
            self.owner_kind: self.owner,
            "AppType": self.app_type,
            "AppName": self.name,
            "Status": self.status,
            "CreationTime": self.creation_time,
            "ResourceSpec": self.resource_spec,
        }

    def describe(self):
        return {
            **self.summary(),
            "AppArn": self.arn,
            "LastUserActivityTimestamp": self.last_user_activity,
            "LastHealthCheckTimestamp": self.last_health_check,
            "RecoveryMode": self.recovery_mode,
        }


# --- lookups -------------------------------------------------------------------------------


def domain(backend, domain_id):
    if domain_id not in backend.domains:
        raise ResourceNotFound(message=f"Domain '{domain_id}' does not exist.")
    return backend.domains[domain_id]


def profile(backend, domain_id, name):
    domain(backend, domain_id)
    found = studio(backend).profiles.get((domain_id, name))
    if found is None:
        raise ResourceNotFound(
            message=f"User profile '{name}' does not exist in domain '{domain_id}'."
        )
    return found


def space(backend, domain_id, name):
    domain(backend, domain_id)
    found = studio(backend).spaces.get((domain_id, name))
    if found is None:
        raise ResourceNotFound(message=f"Space '{name}' does not exist in domain '{domain_id}'.")
    return found


def owner_of(user_profile_name, space_name):
    """(PROFILE|SPACE, name): an app belongs to exactly one of a user profile and a space."""
    if bool(user_profile_name) == bool(space_name):
        raise ValidationError(
            message="Exactly one of UserProfileName and SpaceName must be specified."
        )
    return (PROFILE, user_profile_name) if user_profile_name else (SPACE, space_name)


def owner_record(backend, domain_id, owner_kind, owner):
    find = profile if owner_kind == PROFILE else space
    return find(backend, domain_id, owner)


def live_apps_of(backend, domain_id, owner_kind, owner):
    return [
        a
        for key, a in studio(backend).apps.items()
        if key[:3] == (domain_id, owner_kind, owner) and a.live()
    ]


# --- user profiles and spaces ----------------------------------------------------------------


def create_user_profile(backend, domain_id, name, settings, sso_identifier, sso_value, tags):
    domain(backend, domain_id)
    store = studio(backend).profiles
    if (domain_id, name) in store:
        raise ResourceInUseException(
            message=f"User profile '{name}' already exists in domain '{domain_id}'."
        )
    store[(domain_id, name)] = UserProfile(
        backend, domain_id, name, settings, sso_identifier, sso_value, tags
    )
    return store[(domain_id, name)]


def create_space(backend, domain_id, name, settings, ownership, sharing, display_name, tags):
    domain(backend, domain_id)
    store = studio(backend).spaces
    if (domain_id, name) in store:
        raise ResourceInUseException(
            message=f"Space '{name}' already exists in domain '{domain_id}'."
        )
    store[(domain_id, name)] = Space(
        backend, domain_id, name, settings, ownership, sharing, display_name, tags
    )
    return store[(domain_id, name)]


def delete_owner(backend, domain_id, owner_kind, owner):
    """Delete a profile or space: refused while it has live apps; its deleted apps go with it."""
    owner_record(backend, domain_id, owner_kind, owner)
    if live_apps_of(backend, domain_id, owner_kind, owner):
        raise ResourceInUseException(
            message=f"{owner_kind[:-4]} '{owner}' has apps that are not deleted."
        )
    state = studio(backend)
    for key in [k for k in state.apps if k[:3] == (domain_id, owner_kind, owner)]:
        del state.apps[key]
    store = state.profiles if owner_kind == PROFILE else state.spaces
    del store[(domain_id, owner)]


def update_settings(record, attribute, changes):
    """UpdateUserProfile/UpdateSpace: each top-level settings key given replaces the old one."""
    if changes:
        setattr(record, attribute, {**(getattr(record, attribute) or {}), **changes})
    record.last_modified_time = utcnow()


def listed(records, params, name_filter):
    """ListUserProfiles/ListSpaces: DomainIdEquals, `<name>Contains`, sorted and paged."""
    domain_id = params("DomainIdEquals")
    contains = params(name_filter)
    chosen = [
        r
        for r in records
        if (not domain_id or r.domain_id == domain_id) and (not contains or contains in r.name)
    ]
    sort_by = params("SortBy") or "CreationTime"
    key = (
        (lambda r: r.last_modified_time)
        if sort_by == "LastModifiedTime"
        else (lambda r: r.creation_time)
    )
    chosen = paging.ordered(chosen, key, params("SortOrder"), "Ascending")
    return paging.page(chosen, params("MaxResults"), params("NextToken"))


# --- apps ----------------------------------------------------------------------------------


def default_resource_spec(backend, domain_id, owner_kind, owner, app_type):
    """The owner's `<AppType>AppSettings.DefaultResourceSpec`, else the domain's default."""
    settings_key = SETTINGS_KEY.get(app_type, f"{app_type}AppSettings")
    record = owner_record(backend, domain_id, owner_kind, owner)
    the_domain = backend.domains[domain_id]
    inherited = (
        the_domain.default_user_settings
        if owner_kind == PROFILE
        else the_domain.default_space_settings
    )
    for settings in (record.settings, inherited):
        spec = ((settings or {}).get(settings_key) or {}).get("DefaultResourceSpec")
        if spec:
            return spec
    return {}


def create_app(
    backend, domain_id, owner_kind, owner, app_type, name, resource_spec, recovery_mode, tags
):
    record = owner_record(backend, domain_id, owner_kind, owner)
    key = (domain_id, owner_kind, owner, app_type, name)
    state = studio(backend)
    if key in state.apps and state.apps[key].live():
        raise ResourceInUseException(
            message=f"App '{name}' of type {app_type} already exists for {owner}."
        )
    own_tags, reserved = paging.split_reserved(tags)
    # None when neither the request nor a default gives one: AWS would pick its own default
    # image and instance, which this emulator does not guess.
    spec = {
        **default_resource_spec(backend, domain_id, owner_kind, owner, app_type),
        **(resource_spec or {}),
    } or None
    propagated = paging.merged_tags(own_tags, record.tags, backend.domains[domain_id].tags)
    created = App(backend, key, spec, recovery_mode, propagated)
    created.steer(reserved)
    if owner_kind == SPACE and live_apps_of(backend, domain_id, owner_kind, owner):
        raise ResourceInUseException(
            message=f"Space '{owner}' already runs an app; a space runs one app at a time."
        )
    if key in state.apps:
        state.replaced_apps.append(state.apps[key])
    state.apps[key] = created
    return created


def app(backend, domain_id, owner_kind, owner, app_type, name):
    owner_record(backend, domain_id, owner_kind, owner)
    found = studio(backend).apps.get((domain_id, owner_kind, owner, app_type, name))
    if found is None:
        raise ResourceNotFound(
            message=f"App '{name}' of type {app_type} does not exist for {owner}."
        )
    return found


def delete_app(backend, *key):
    found = app(backend, *key)
    if found.status == "Deleted":
        raise ResourceNotFound(message=f"App '{found.name}' has already been deleted.")
    found.status = "Deleted"


def list_apps(backend, params):
    domain_id = params("DomainIdEquals")
    profile_name, space_name = params("UserProfileNameEquals"), params("SpaceNameEquals")
    if profile_name and space_name:
        raise ValidationError(
            message="UserProfileNameEquals and SpaceNameEquals are mutually exclusive."
        )
    chosen = [
        a
        for a in [*studio(backend).replaced_apps, *studio(backend).apps.values()]
        if (not domain_id or a.domain_id == domain_id)
        and (not profile_name or (a.owner_kind, a.owner) == (PROFILE, profile_name))
        and (not space_name or (a.owner_kind, a.owner) == (SPACE, space_name))
    ]
    chosen = paging.ordered(chosen, lambda a: a.creation_time, params("SortOrder"), "Ascending")
    return paging.page(chosen, params("MaxResults"), params("NextToken"))


# --- tags ----------------------------------------------------------------------------------


def studio_resource(backend, arn):
    """The profile, space or app an ARN names; None when the ARN is of another kind."""
    state = studio(backend)
    kind = arn.split(":", 5)[-1].split("/", 1)[0]
    stores = {"user-profile": state.profiles, "space": state.spaces, "app": state.apps}
    if kind not in stores:
        return None
    found = next((r for r in stores[kind].values() if r.arn == arn), None)
    if found is None:
        raise ValidationError(message=f"Could not find {kind} '{arn}'.")
    return found


def install_domains():
    """DescribeDomain/DeleteDomain answer ResourceNotFound for an unknown domain, as AWS does,
    and a domain is not deleted from under its profiles and spaces."""
    backend_class = SageMakerModelBackend
    original_describe = backend_class.describe_domain
    original_delete = backend_class.delete_domain

    def describe_domain(self, domain_id):  # type: ignore[no-untyped-def]
        domain(self, domain_id)
        return original_describe(self, domain_id)

    def delete_domain(self, domain_id, retention_policy):  # type: ignore[no-untyped-def]
        domain(self, domain_id)
        state = studio(self)
        if any(key[0] == domain_id for key in [*state.profiles, *state.spaces]):
            raise ResourceInUseException(
                message=f"Domain '{domain_id}' still has user profiles or spaces."
            )
        return original_delete(self, domain_id, retention_policy)

    backend_class.describe_domain = describe_domain
    backend_class.delete_domain = delete_domain


def install_tags():
    """Tags on Studio ARNs, ValidationException (not HTTP 500) for anything unknown, no None
    tag lists, and AddTags that overwrites by key."""
    backend_class = SageMakerModelBackend
    original_lookup = backend_class._get_resource_from_arn
    original_iter = backend_class.iter_tagged_resources

    def _get_resource_from_arn(self, arn):  # type: ignore[no-untyped-def]
        found = studio_resource(self, arn)
        if found is None:
            try:
                found = original_lookup(self, arn)
            except (AttributeError, KeyError, TypeError, ValueError):
                found = None
            if found is None:
                raise ValidationError(message=f"Could not find resource '{arn}'.")
        if getattr(found, "tags", None) is None:
            found.tags = []
        return found

    def add_tags(self, arn, tags):  # type: ignore[no-untyped-def]
        resource = self._get_resource_from_arn(arn)
        if isinstance(resource, App):
            tags, reserved = paging.split_reserved(tags)
            resource.steer(reserved)
        resource.tags = paging.merged_tags(tags, resource.tags)
        return resource.tags

    def iter_tagged_resources(self):  # type: ignore[no-untyped-def]
        yield from original_iter(self)
        state = studio(self)
        kinds = (
            ("sagemaker:user-profile", state.profiles.values()),
            ("sagemaker:space", state.spaces.values()),
            ("sagemaker:app", [a for a in state.apps.values() if a.status != "Deleted"]),
        )
        for resource_type, records in kinds:
            for record in records:
                tags = {t["Key"]: t["Value"] for t in record.tags}
                yield TaggedResource(arn=record.arn, tags=tags, resource_type=resource_type)

    backend_class._get_resource_from_arn = _get_resource_from_arn
    backend_class.add_tags = add_tags
    backend_class.iter_tagged_resources = iter_tagged_resources


# --- the operations --------------------------------------------------------------------------


def _app_key(response):
    owner_kind, owner = owner_of(
        response._get_param("UserProfileName"), response._get_param("SpaceName")
    )
    return (
        response._get_param("DomainId"),
        owner_kind,
        owner,
        response._get_param("AppType"),
        response._get_param("AppName"),
    )


def _create_user_profile(self):
    record = create_user_profile(
        self.sagemaker_backend,
        self._get_param("DomainId"),
        self._get_param("UserProfileName"),
        self._get_param("UserSettings"),
        self._get_param("SingleSignOnUserIdentifier"),
        self._get_param("SingleSignOnUserValue"),
        self._get_param("Tags"),
    )
    return ActionResult({"UserProfileArn": record.arn})


def _describe_user_profile(self):
    record = profile(
        self.sagemaker_backend, self._get_param("DomainId"), self._get_param("UserProfileName")
    )
    return ActionResult(record.describe())


def _update_user_profile(self):
    record = profile(
        self.sagemaker_backend, self._get_param("DomainId"), self._get_param("UserProfileName")
    )
    update_settings(record, "settings", self._get_param("UserSettings"))
    return ActionResult({"UserProfileArn": record.arn})


def _list_user_profiles(self):
    records, token = listed(
        studio(self.sagemaker_backend).profiles.values(), self._get_param, "UserProfileNameContains"
    )
    return ActionResult({"UserProfiles": [r.summary() for r in records], "NextToken": token})


def _delete_user_profile(self):
    delete_owner(
        self.sagemaker_backend,
        self._get_param("DomainId"),
        PROFILE,
        self._get_param("UserProfileName"),
    )
    return EmptyResult()


def _create_space(self):
    record = create_space(
        self.sagemaker_backend,
        self._get_param("DomainId"),
        self._get_param("SpaceName"),
        self._get_param("SpaceSettings"),
        self._get_param("OwnershipSettings"),
        self._get_param("SpaceSharingSettings"),
        self._get_param("SpaceDisplayName"),
        self._get_param("Tags"),
    )
    return ActionResult({"SpaceArn": record.arn})


def _describe_space(self):
    record = space(
        self.sagemaker_backend, self._get_param("DomainId"), self._get_param("SpaceName")
    )
    return ActionResult(record.describe())


def _update_space(self):
    record = space(
        self.sagemaker_backend, self._get_param("DomainId"), self._get_param("SpaceName")
    )
    update_settings(record, "settings", self._get_param("SpaceSettings"))
    if self._get_param("SpaceDisplayName") is not None:
        record.display_name = self._get_param("SpaceDisplayName")
    return ActionResult({"SpaceArn": record.arn})


def _list_spaces(self):
    records, token = listed(
        studio(self.sagemaker_backend).spaces.values(), self._get_param, "SpaceNameContains"
    )
    return ActionResult({"Spaces": [r.summary() for r in records], "NextToken": token})


def _delete_space(self):
    delete_owner(
        self.sagemaker_backend, self._get_param("DomainId"), SPACE, self._get_param("SpaceName")
    )
    return EmptyResult()


def _create_app(self):
    record = create_app(
        self.sagemaker_backend,
        *_app_key(self),
        self._get_param("ResourceSpec"),
        self._get_param("RecoveryMode"),
        self._get_param("Tags"),
    )
    return ActionResult({"AppArn": record.arn})


def _describe_app(self):
    return ActionResult(app(self.sagemaker_backend, *_app_key(self)).describe())


def _delete_app(self):
    delete_app(self.sagemaker_backend, *_app_key(self))
    return EmptyResult()


def _list_apps(self):
    records, token = list_apps(self.sagemaker_backend, self._get_param)
    return ActionResult({"Apps": [r.summary() for r in records], "NextToken": token})


OPERATIONS = {
    "create_user_profile": _create_user_profile,
    "describe_user_profile": _describe_user_profile,
    "update_user_profile": _update_user_profile,
    "list_user_profiles": _list_user_profiles,
    "delete_user_profile": _delete_user_profile,
    "create_space": _create_space,
    "describe_space": _describe_space,
    "update_space": _update_space,
    "list_spaces": _list_spaces,
    "delete_space": _delete_space,
    "create_app": _create_app,
    "describe_app": _describe_app,
    "delete_app": _delete_app,
    "list_apps": _list_apps,
}


def install() -> None:
    for name, operation in OPERATIONS.items():
        setattr(SageMakerResponse, name, operation)
    install_domains()
    install_tags()
