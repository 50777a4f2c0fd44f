//! The AWS-behaviour layer itself: for each behaviour, a plain SDK client at a world's proxy sees AWS as
//! it behaves, while the test's direct clients seed the emulator.

use std::fmt::Debug;
use std::time::Duration;

use aws_config::Region;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag};

use crate::aws_behaviour::AwsBehaviour;
use crate::support::*;

/// A plain SSM client in `region` whose calls go through the world's proxy.
async fn via_proxy(w: &World, region: &str) -> aws_sdk_ssm::Client {
    let sdk = sdk_config_at(&w.proxy().url).await;
    aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&sdk).region(Region::new(region.to_owned())).build(),
    )
}

/// The AWS error code of a failed call (panics on success).
fn code<T: Debug, E: ProvideErrorMetadata + Debug, R: Debug>(result: Result<T, SdkError<E, R>>) -> String {
    let err = result.expect_err("the call should fail");
    err.as_service_error().and_then(ProvideErrorMetadata::code).unwrap_or_else(|| panic!("{err:?}")).to_owned()
}

fn name_equals(name: &str) -> ParameterStringFilter {
    ParameterStringFilter::builder().key("Name").option("Equals").values(name).build().unwrap()
}

fn tags(n: usize, prefix: &str) -> Vec<Tag> {
    (0..n).map(|i| Tag::builder().key(format!("{prefix}{i}")).value("v").build().unwrap()).collect()
}

/// Every name DescribeParameters lists for `filter`, following NextToken; and how many pages it took.
async fn list_all(client: &aws_sdk_ssm::Client, filter: ParameterStringFilter, page: i32) -> (Vec<String>, usize) {
    let (mut names, mut pages) = (Vec::new(), 0);
    let mut token = None;
    loop {
        let out = client
            .describe_parameters()
            .parameter_filters(filter.clone())
            .max_results(page)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        names.extend(out.parameters().iter().filter_map(|p| p.name().map(str::to_owned)));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return (names, pages);
        }
    }
}

#[tokio::test]
async fn empty_pages_a_filtered_first_page_is_empty_with_a_token_and_later_pages_may_be_empty_too() {
    // Behaviour 1 alone: without the scan (behaviour 11), pages hold what matches.
    let w = World::with_behaviour(&[], AwsBehaviour::default().without_listing_lag().without_scan_filter()).await;
    let client = via_proxy(&w, SOURCE).await;
    let name = w.name("listed");
    w.put(SOURCE, Put::string(&name, "v")).await;

    // A Name filter: the first page is empty with a token, the next one has the parameter.
    let first = client.describe_parameters().parameter_filters(name_equals(&name)).send().await.unwrap();
    assert!(first.parameters().is_empty(), "{first:?}");
    let token = first.next_token().unwrap();
    assert!(token.starts_with("awsb-empty."), "{token}");
    let second =
        client.describe_parameters().parameter_filters(name_equals(&name)).next_token(token).send().await.unwrap();
    assert_eq!(second.parameters().len(), 1);
    assert_eq!(second.parameters()[0].name(), Some(name.as_str()));
    assert_eq!(second.next_token(), None, "the chain ends");
    assert_eq!(w.proxy().empty_pages(SOURCE), 1);
    assert_eq!(w.proxy().tally("DescribeParameters").emulated, 1);

    // Pages after the first: a quarter of them empty, deterministically; the chain still ends with all.
    for i in 0..20 {
        w.put(SOURCE, Put::string(&w.name(&format!("many/p{i:02}")), "v")).await;
    }
    let under =
        ParameterStringFilter::builder().key("Path").option("Recursive").values(w.name("many")).build().unwrap();
    let before = w.proxy().empty_pages_total();
    let (names, pages) = list_all(&client, under.clone(), 2).await;
    assert_eq!(names.len(), 20, "{names:?}");
    let injected = w.proxy().empty_pages_total() - before;
    eprintln!("empty pages: {injected} of {pages} pages for 20 parameters in pages of 2");
    assert!(injected > 1, "empty pages after the first too: {injected}");
    assert_eq!(pages as u64, 10 + injected, "every injected empty page is one more call");
    // The same listing again injects the same empty pages: they depend on the requests, not on timing.
    let again = w.proxy().empty_pages_total();
    assert_eq!(list_all(&client, under, 2).await.0.len(), 20);
    assert_eq!(w.proxy().empty_pages_total() - again, injected);

    // An unfiltered listing, and the layer switched off: no empty page.
    let off = World::with_behaviour(&[], AwsBehaviour::default().without_empty_pages().without_listing_lag()).await;
    let plain = via_proxy(&off, SOURCE).await;
    let out = plain.describe_parameters().parameter_filters(name_equals(&name)).send().await.unwrap();
    assert_eq!(out.parameters().len(), 1);
    assert_eq!(off.proxy().empty_pages_total(), 0);
}

/// Behaviour 11 alone (empty pages and listing lag off), for a world seeded with `plain` parameters and then
/// `tagged` ones carrying `wanted=yes`: what a filtered listing through the layer costs and finds.
async fn scan_world(plain: usize, tagged: usize) -> (World, aws_sdk_ssm::Client, ParameterStringFilter) {
    let behaviour = AwsBehaviour::default().without_empty_pages().without_listing_lag();
    let w = World::with_behaviour(&[], behaviour).await;
    for i in 0..plain {
        w.put(SOURCE, Put::string(&w.name(&format!("plain/p{i:02}")), "v").tags(&[])).await;
    }
    for i in 0..tagged {
        w.put(SOURCE, Put::string(&w.name(&format!("tagged/p{i:02}")), "v").tags(&[("wanted", "yes")])).await;
    }
    let client = via_proxy(&w, SOURCE).await;
    // No prefix in the filter: the world's prefix bounds the scan's region (`scan_scope`).
    let wanted = ParameterStringFilter::builder().key("tag:wanted").values("yes").build().unwrap();
    (w, client, wanted)
}

#[tokio::test]
async fn scan_filter_a_filtered_first_page_may_be_empty_although_matches_exist() {
    let (w, client, wanted) = scan_world(30, 5).await;
    // The first 10 parameters of the region (the default MaxResults) are none of the 5 that match.
    let first = client.describe_parameters().parameter_filters(wanted.clone()).send().await.unwrap();
    assert!(first.parameters().is_empty(), "{first:?}");
    assert!(first.next_token().is_some_and(|t| t.starts_with("awsb-scan.")), "{first:?}");
    assert_eq!(w.proxy().empty_pages_total(), 0, "not behaviour 1's empty page: the scan found no match");
    // The emulator alone, which filters before it pages, answers all 5 at once.
    let under = ParameterStringFilter::builder().key("Path").option("Recursive").values(&w.prefix).build().unwrap();
    let direct = w.ssm(SOURCE).describe_parameters().parameter_filters(under).parameter_filters(wanted);
    let direct = direct.max_results(50).send().await.unwrap();
    assert_eq!(direct.parameters().len(), 5);
}

#[tokio::test]
async fn scan_filter_every_match_is_found_by_following_tokens_at_a_call_per_page_of_the_region() {
    let (w, client, wanted) = scan_world(30, 5).await;
    for (page, calls) in [(10, 4), (50, 1), (7, 5)] {
        let (names, pages) = list_all(&client, wanted.clone(), page).await;
        let mut expected: Vec<String> = (0..5).map(|i| w.name(&format!("tagged/p{i:02}"))).collect();
        expected.sort();
        let mut names = names;
        names.sort();
        assert_eq!(names, expected, "pages of {page}");
        // 35 parameters in the region: a call per `page` of them, whatever matched.
        assert_eq!(pages, calls, "pages of {page}");
    }
    // A Name filter too is applied after the scan: one name costs the same pass.
    let one = w.name("tagged/p04");
    let (names, pages) = list_all(&client, name_equals(&one), 10).await;
    assert_eq!((names, pages), (vec![one], 4));
}

#[tokio::test]
async fn scan_filter_unfiltered_calls_are_unchanged_and_the_switch_turns_it_off() {
    let (w, client, wanted) = scan_world(30, 5).await;
    // Unfiltered: forwarded as it is (the emulator's own paging, its tokens), a full page of 50 at once.
    let plain = client.describe_parameters().max_results(50).send().await.unwrap();
    // Every parameter of the emulator counts (other tests' too), not just the world's 35.
    assert!(plain.parameters().len() >= 35, "{}", plain.parameters().len());
    assert!(plain.next_token().is_none_or(|t| !t.starts_with("awsb-")), "{:?}", plain.next_token());
    assert_eq!(w.proxy().tally("DescribeParameters").emulated, 0);
    // Off: the filtered listing is the emulator's, all matches on the first page.
    let off = World::with_behaviour(&[], AwsBehaviour::off()).await;
    let plain_client = via_proxy(&off, SOURCE).await;
    let under = ParameterStringFilter::builder().key("Path").option("Recursive").values(&w.prefix).build().unwrap();
    let listing = plain_client.describe_parameters().parameter_filters(wanted).parameter_filters(under);
    let out = listing.max_results(10).send().await.unwrap();
    assert_eq!(out.parameters().len(), 5);
}

#[tokio::test]
async fn listing_lag_a_new_parameter_is_readable_but_not_listed_until_it_settles() {
    let w = World::with_behaviour(&[], AwsBehaviour::default()).await;
    let client = via_proxy(&w, SOURCE).await;
    let name = w.name("fresh");
    w.put(SOURCE, Put::string(&name, "v1")).await;

    let (listed, _) = list_all(&client, name_equals(&name), 50).await;
    assert!(listed.is_empty(), "not listed yet: {listed:?}");
    let read = client.get_parameter().name(&name).send().await.unwrap();
    assert_eq!(read.parameter().unwrap().value(), Some("v1"), "but readable");
    let got = client.get_parameters().names(&name).send().await.unwrap();
    assert_eq!(got.parameters().len(), 1, "and readable in a batch");

    w.settle().await;
    let (listed, _) = list_all(&client, name_equals(&name), 50).await;
    assert_eq!(listed, vec![name.clone()], "listed once settled");
    // An update (version 2) is listed at once: only creation lags.
    w.put(SOURCE, Put::string(&name, "v2")).await;
    assert_eq!(list_all(&client, name_equals(&name), 50).await.0, vec![name]);
}

#[tokio::test]
async fn tag_limit_the_51st_tag_fails_with_too_many_tags() {
    let w = World::with_behaviour(&[], AwsBehaviour::default()).await;
    let client = via_proxy(&w, SOURCE).await;
    let (full, over) = (w.name("fifty"), w.name("fifty-one"));
    let put = |name: &str, n: usize| {
        client.put_parameter().name(name).value("v").r#type(ParameterType::String).set_tags(Some(tags(n, "k"))).send()
    };
    assert_eq!(code(put(&over, 51).await), "TooManyTagsError");
    assert!(w.get(SOURCE, &over).await.is_none(), "nothing written");
    put(&full, 50).await.unwrap();

    let add = |pairs: Vec<Tag>| {
        client
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(&full)
            .set_tags(Some(pairs))
            .send()
    };
    assert_eq!(code(add(tags(1, "new")).await), "TooManyTagsError", "the 51st key");
    assert_eq!(w.tags_of(SOURCE, &full).await.len(), 50);
    // Changing the value of a key it has keeps 50 keys: allowed.
    add(vec![Tag::builder().key("k0").value("changed").build().unwrap()]).await.unwrap();
    assert_eq!(w.tags_of(SOURCE, &full).await.get("k0").map(String::as_str), Some("changed"));
}

#[tokio::test]
async fn type_change_and_tier_downgrade_in_place_are_rejected() {
    let w = World::with_behaviour(&[], AwsBehaviour::default()).await;
    let client = via_proxy(&w, SOURCE).await;
    let (plain, advanced) = (w.name("plain"), w.name("advanced"));
    w.put(SOURCE, Put::string(&plain, "v")).await;
    w.put(SOURCE, Put { tier: Some(ParameterTier::Advanced), ..Put::string(&advanced, "v") }).await;
    let overwrite = |name: &str, kind: ParameterType, tier: Option<ParameterTier>| {
        client.put_parameter().name(name).value("w").r#type(kind).overwrite(true).set_tier(tier).send()
    };

    for kind in [ParameterType::StringList, ParameterType::SecureString] {
        assert_eq!(code(overwrite(&plain, kind, None).await), "HierarchyTypeMismatchException");
    }
    assert_eq!(w.get(SOURCE, &plain).await.unwrap().r#type(), Some(&ParameterType::String));

    let err = overwrite(&advanced, ParameterType::String, Some(ParameterTier::Standard)).await.unwrap_err();
    let service = err.as_service_error().unwrap();
    assert_eq!(service.code(), Some("ValidationException"));
    assert!(service.message().unwrap().contains("You can't downgrade a parameter from the advanced-parameter tier"));
    // No Tier keeps the current tier: not an error.
    overwrite(&advanced, ParameterType::String, None).await.unwrap();
    assert_eq!(w.describe(SOURCE, &advanced).await.tier(), Some(&ParameterTier::Advanced));
    // The same type and tier: a plain overwrite.
    overwrite(&plain, ParameterType::String, Some(ParameterTier::Standard)).await.unwrap();
}

#[tokio::test]
async fn value_size_4096_characters_standard_and_8192_advanced() {
    let w = World::with_behaviour(&[], AwsBehaviour::default()).await;
    let client = via_proxy(&w, SOURCE).await;
    let put = |name: String, size: usize, tier: Option<ParameterTier>, overwrite: bool| {
        client
            .put_parameter()
            .name(name)
            .value("x".repeat(size))
            .r#type(ParameterType::String)
            .set_tier(tier)
            .overwrite(overwrite)
            .send()
    };
    put(w.name("std-max"), 4096, Some(ParameterTier::Standard), false).await.unwrap();
    assert_eq!(code(put(w.name("std-over"), 4097, Some(ParameterTier::Standard), false).await), "ValidationException");
    assert_eq!(code(put(w.name("no-tier"), 4097, None, false).await), "ValidationException", "new: Standard");
    put(w.name("adv-max"), 8192, Some(ParameterTier::Advanced), false).await.unwrap();
    assert_eq!(code(put(w.name("adv-over"), 8193, Some(ParameterTier::Advanced), false).await), "ValidationException");
    // An Advanced parameter overwritten without Tier stays Advanced: 5000 characters are fine.
    put(w.name("adv-max"), 5000, None, true).await.unwrap();
    assert!(w.get(SOURCE, &w.name("std-over")).await.is_none());
}

#[tokio::test]
async fn kms_key_must_exist_and_be_enabled_in_the_region() {
    let w = World::with_behaviour(&[], AwsBehaviour::default()).await;
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE]).await; // not in us-east-2
    let put = |client: aws_sdk_ssm::Client, name: String, key: String| async move {
        client.put_parameter().name(name).value("s").r#type(ParameterType::SecureString).key_id(key).send().await
    };
    let (source, east) = (via_proxy(&w, SOURCE).await, via_proxy(&w, EAST).await);

    put(source.clone(), w.name("here"), alias.clone()).await.unwrap();
    assert_eq!(code(put(east.clone(), w.name("there"), alias.clone()).await), "InvalidKeyId");
    assert!(w.get(EAST, &w.name("there")).await.is_none(), "nothing written");
    put(east.clone(), w.name("managed"), "alias/aws/ssm".into()).await.unwrap();

    // A key that exists but is disabled, named by id and by ARN.
    let key = w.kms(SOURCE).create_key().send().await.unwrap().key_metadata().unwrap().clone();
    put(source.clone(), w.name("by-arn"), key.arn().unwrap().to_owned()).await.unwrap();
    w.kms(SOURCE).disable_key().key_id(key.key_id()).send().await.unwrap();
    assert_eq!(code(put(source.clone(), w.name("disabled"), key.key_id().to_owned()).await), "InvalidKeyId");
}

#[tokio::test]
async fn undecryptable_securestrings_fail_reads_with_decryption_as_a_whole() {
    let w = World::with_behaviour(&[], AwsBehaviour::default()).await;
    let client = via_proxy(&w, SOURCE).await;
    let (locked, open, plain) = (w.name("locked"), w.name("open"), w.name("plain"));
    w.put(SOURCE, Put::secure(&locked, "s1", None)).await;
    w.put(SOURCE, Put::secure(&open, "s2", None)).await;
    w.put(SOURCE, Put::string(&plain, "v")).await;
    w.proxy().undecryptable(&locked);

    let get = |name: &str, decrypt: bool| client.get_parameter().name(name).with_decryption(decrypt).send();
    assert_eq!(code(get(&locked, true).await), "InvalidKeyId");
    get(&locked, false).await.unwrap(); // no decryption, no KMS call
    assert_eq!(get(&open, true).await.unwrap().parameter().unwrap().value(), Some("s2"));

    let batch = |names: &[&String]| {
        client
            .get_parameters()
            .set_names(Some(names.iter().map(|n| n.to_string()).collect()))
            .with_decryption(true)
            .send()
    };
    assert_eq!(code(batch(&[&open, &locked, &plain]).await), "InvalidKeyId", "one bad name fails the batch");
    assert_eq!(batch(&[&open, &plain]).await.unwrap().parameters().len(), 2);

    let by_path = client.get_parameters_by_path().path(&w.prefix).recursive(true).with_decryption(true).send().await;
    assert_eq!(code(by_path), "InvalidKeyId");
    // The test's own direct client is not behind the layer.
    assert_eq!(w.get(SOURCE, &locked).await.unwrap().value(), Some("s1"));
}

#[tokio::test]
async fn all_behaviours_off_forwards_as_the_emulator_answers() {
    let w = World::with_behaviour(&[], AwsBehaviour::off()).await;
    let client = via_proxy(&w, SOURCE).await;
    let name = w.name("kind");
    // Over 4 KB in Standard, 51 tags: the emulator takes both.
    client
        .put_parameter()
        .name(&name)
        .value("x".repeat(5000))
        .r#type(ParameterType::String)
        .set_tags(Some(tags(51, "k")))
        .send()
        .await
        .unwrap();
    // Listed on the first page, at once.
    let out = client.describe_parameters().parameter_filters(name_equals(&name)).send().await.unwrap();
    assert_eq!(out.parameters().len(), 1);
    assert_eq!(w.proxy().empty_pages_total(), 0);
}

#[tokio::test]
async fn recreate_window_a_name_deleted_a_moment_ago_cannot_be_created_until_the_window_passes() {
    let window = Duration::from_millis(800);
    let w = World::with_behaviour(&[], AwsBehaviour::off().with_recreate_window(window)).await;
    let client = via_proxy(&w, EAST).await;
    let name = w.name("again");
    let create = || client.put_parameter().name(&name).value("v").r#type(ParameterType::String).send();
    create().await.unwrap();
    client.delete_parameter().name(&name).send().await.unwrap();
    assert_eq!(code(create().await), "TooManyUpdates");
    assert!(w.get(EAST, &name).await.is_none(), "the refused create created nothing");
    // Another region, and an overwrite, are not affected; the same create is once the window has passed.
    via_proxy(&w, WEST)
        .await
        .put_parameter()
        .name(&name)
        .value("v")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(window).await;
    create().await.unwrap();
    assert_eq!(w.proxy().recreates_refused(), 1);
    // DeleteParameters opens the window too.
    client.delete_parameters().names(&name).send().await.unwrap();
    assert_eq!(code(create().await), "TooManyUpdates");
}

#[tokio::test]
async fn describe_secret_through_the_layer_lists_only_versions_with_a_staging_label() {
    let w = World::new(&[]).await;
    let name = format!("{}/versions", &w.prefix[1..]);
    let direct = w.secrets(SOURCE);
    direct.create_secret().name(&name).secret_string("v1").send().await.unwrap();
    for value in ["v2", "v3"] {
        direct.put_secret_value().secret_id(&name).secret_string(value).send().await.unwrap();
    }
    let count = |d: &aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput| {
        d.version_ids_to_stages().map_or(0, |m| m.len())
    };
    // The emulator lists v1 with no label; AWS (and the layer) only the labelled AWSCURRENT and AWSPREVIOUS.
    let from_emulator = direct.describe_secret().secret_id(&name).send().await.unwrap();
    assert_eq!(count(&from_emulator), 3);
    let conf = aws_sdk_secretsmanager::config::Builder::from(&sdk_config_at(&w.proxy().url).await)
        .region(Region::new(SOURCE))
        .build();
    let layered = aws_sdk_secretsmanager::Client::from_conf(conf);
    let through = layered.describe_secret().secret_id(&name).send().await.unwrap();
    assert_eq!(count(&through), 2);
    assert!(through.version_ids_to_stages().unwrap().values().all(|stages| !stages.is_empty()));
}
