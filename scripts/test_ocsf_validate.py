"""scripts/ocsf_validate.py accepts a valid Compliance Finding and names what is wrong with
an invalid one (the Rust tests run it on the functions' real `--format ocsf` output)."""

import copy
import json
import unittest

from ocsf_validate import validate_lines

VALID = {
    "class_uid": 2003,
    "category_uid": 2,
    "activity_id": 1,
    "type_uid": 200301,
    "severity_id": 4,
    "status_id": 1,
    "time": 1796198400000,
    "metadata": {
        "version": "1.1.0",
        "profiles": ["cloud"],
        "product": {"name": "sagekeeper", "vendor_name": "sagekeeper", "version": "0.1.0"},
    },
    "cloud": {"provider": "AWS", "region": "eu-west-1"},
    "finding_info": {"uid": "sagekeeper/x/home/s3-encryption/arn:aws:s3:::b", "title": "s3-encryption"},
    "compliance": {"standards": ["sagekeeper"], "control": "s3-encryption", "status_id": 3},
    "resource": {"uid": "arn:aws:s3:::b", "type": "AWS::S3::Bucket"},
}


def lines(*events):
    return [json.dumps(event) + "\n" for event in events]


def without(path):
    event = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = event
    for key in parents:
        node = node[key]
    del node[last]
    return event


class OcsfValidateTest(unittest.TestCase):
    def test_a_valid_compliance_finding_passes(self):
        self.assertEqual(validate_lines(lines(VALID, VALID)), [])

    def test_missing_required_attributes_are_named(self):
        for path in ["compliance", "compliance.standards", "finding_info.uid", "metadata.version", "cloud"]:
            with self.subTest(path=path):
                found = validate_lines(lines(VALID, without(path)))
                self.assertTrue(found, path)
                self.assertTrue(all(p.startswith("line 2:") for p in found), found)

    def test_wrong_values_and_unknown_attributes_are_refused(self):
        for key, value in [("severity_id", 7), ("time", "2026-12-02T08:00:00Z"), ("type_uid", 200302), ("severty", "High")]:
            with self.subTest(key=key):
                event = dict(VALID, **{key: value})
                self.assertTrue(validate_lines(lines(event)), key)
        self.assertTrue(validate_lines(lines(dict(VALID, class_uid=2004))))

    def test_no_events_or_not_json_fail(self):
        self.assertTrue(validate_lines([]))
        self.assertTrue(validate_lines(["{not json\n"]))


if __name__ == "__main__":
    unittest.main()
