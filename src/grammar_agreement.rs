//! A check that two independent grammars agree: the client's `topic.rs` and the simulator's
//! port of the firmware's `GetTopic_P`. Test-only, so that neither module imports the other.

use proptest::prelude::*;

use crate::simulate::grammar::{Prefix, TopicSettings};
use crate::topic::{Class, Layout, Prefixes, Template, Vars};

fn word() -> impl Strategy<Value = String> {
    "[a-z0-9_][a-z0-9_-]{0,7}"
}

/// A FullTopic made of the firmware's tokens, literal levels, the odd `#` and slashes,
/// doubled and tripled ones included.
fn template() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec![
            "%prefix%",
            "%topic%",
            "%hostname%",
            "%id%",
            "home",
            "#",
            "x1",
        ]),
        1..5,
    )
    .prop_flat_map(|parts| {
        let n = parts.len();
        (
            Just(parts),
            proptest::collection::vec(0usize..4, n),
            0usize..3,
        )
    })
    .prop_map(|(parts, slashes, trailing)| {
        let mut text = String::new();
        for (part, slashes) in parts.iter().zip(slashes) {
            text.push_str(&"/".repeat(slashes));
            text.push_str(part);
        }
        text.push_str(&"/".repeat(trailing));
        text
    })
}

proptest! {
            /// The simulator's port of GetTopic_P and the client's grammar build the same topic
            /// for every template, prefix word, topic, hostname and MAC.
            #[test]
            fn the_simulator_s_grammar_agrees(
                full_topic in template(),
                prefixes in proptest::array::uniform3(prop_oneof![word(), Just(String::new())]),
                topic in word(),
                hostname in word(),
                mac in "[0-9A-F]{12}",
                class in 0usize..3,
                suffix in "[A-Z][A-Z0-9]{0,7}",
            ) {
                let client = Layout {
                    template: Template::parse(&full_topic).unwrap(),
                    prefixes: Prefixes {
                        cmnd: prefixes[0].clone(),
                        stat: prefixes[1].clone(),
                        tele: prefixes[2].clone(),
                    },
                };
                let vars = Vars { topic: &topic, hostname: Some(&hostname), mac: Some(&mac) };
                let ours = client.topic(Class::ALL[class], &vars, &suffix).unwrap();
                let firmware = TopicSettings { full_topic: full_topic.clone(), prefixes: prefixes.clone() }
                    .topic([Prefix::Cmnd, Prefix::Stat, Prefix::Tele][class], &topic, &hostname, &mac, &suffix);
                prop_assert_eq!(ours, firmware, "FullTopic {:?} prefixes {:?}", full_topic, prefixes);
            }

}
