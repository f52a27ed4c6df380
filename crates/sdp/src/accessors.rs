//! Typed accessors shared by the session and media levels (a macro, so that both get
//! inherent methods and callers need no trait import).

/// Implements the attribute accessors valid at both session and media level on a type with
/// an `attributes: Vec<Attribute>` field.
macro_rules! attribute_accessors {
    ($ty:ty) => {
        impl $ty {
            /// The first attribute called `name`.
            pub fn attribute(&self, name: &str) -> Option<&$crate::Attribute> {
                $crate::attribute::find(&self.attributes, name)
            }

            /// The value of the first attribute called `name`.
            pub fn attribute_value(&self, name: &str) -> Option<&str> {
                $crate::attribute::value_of(&self.attributes, name)
            }

            /// Whether an attribute called `name` is present.
            pub fn has_attribute(&self, name: &str) -> bool {
                $crate::attribute::has(&self.attributes, name)
            }

            /// Every attribute called `name`, in order.
            pub fn attributes_named<'a>(
                &'a self,
                name: &'a str,
            ) -> impl Iterator<Item = &'a $crate::Attribute> + 'a {
                self.attributes.iter().filter(move |a| a.is(name))
            }

            /// The first well-formed attribute of type `T`.
            pub fn typed<T: $crate::AttributeValue>(&self) -> Option<T> {
                $crate::attribute::first_typed(&self.attributes)
            }

            /// Every well-formed attribute of type `T`, in order (malformed ones, which the
            /// parser reported, are skipped).
            pub fn typed_all<T: $crate::AttributeValue>(&self) -> impl Iterator<Item = T> + '_ {
                $crate::attribute::all_typed(&self.attributes)
            }

            /// Appends an attribute.
            pub fn push_attribute(&mut self, attribute: $crate::Attribute) {
                self.attributes.push(attribute);
            }

            /// Appends a typed attribute; fails when a text field holds CR, LF or NUL.
            pub fn push_typed<T: $crate::AttributeValue>(
                &mut self,
                value: &T,
            ) -> Result<(), $crate::AttributeError> {
                self.attributes.push($crate::Attribute::from_value(value)?);
                Ok(())
            }

            /// Puts `attribute` where the first attribute of the same name is (or at the end)
            /// and removes the others of that name: `set_attribute(Attribute::from_value(&Setup::Active)?)`.
            pub fn set_attribute(&mut self, attribute: $crate::Attribute) {
                match self.attributes.iter().position(|a| a.is(attribute.name())) {
                    Some(i) => {
                        let name = attribute.name().to_owned();
                        let mut index = 0;
                        self.attributes.retain(|a| {
                            let keep = index == i || !a.is(&name);
                            index += 1;
                            keep
                        });
                        if let Some(slot) = self.attributes.get_mut(i) {
                            *slot = attribute;
                        }
                    }
                    None => self.attributes.push(attribute),
                }
            }

            /// [`Self::set_attribute`] for a typed value.
            pub fn set_typed<T: $crate::AttributeValue>(
                &mut self,
                value: &T,
            ) -> Result<(), $crate::AttributeError> {
                self.set_attribute($crate::Attribute::from_value(value)?);
                Ok(())
            }

            /// Removes every attribute called `name`; returns how many were removed.
            pub fn remove_attributes(&mut self, name: &str) -> usize {
                let before = self.attributes.len();
                self.attributes.retain(|a| !a.is(name));
                before - self.attributes.len()
            }

            /// `a=ice-ufrag` (RFC 8839 §5.4).
            pub fn ice_ufrag(&self) -> Option<&str> {
                self.attribute_value("ice-ufrag")
            }

            /// `a=ice-pwd` (RFC 8839 §5.4).
            pub fn ice_pwd(&self) -> Option<&str> {
                self.attribute_value("ice-pwd")
            }

            /// `a=ice-options` (RFC 8839 §5.6).
            pub fn ice_options(&self) -> Option<$crate::IceOptions> {
                self.typed()
            }

            /// `a=ice-lite` (RFC 8839 §5.3).
            pub fn ice_lite(&self) -> bool {
                self.has_attribute("ice-lite")
            }

            /// `a=fingerprint` lines (RFC 8122 §5), in order; there may be several.
            pub fn fingerprints(&self) -> impl Iterator<Item = $crate::Fingerprint> + '_ {
                self.typed_all()
            }

            /// `a=setup` (RFC 4145 §4).
            pub fn setup(&self) -> Option<$crate::Setup> {
                self.typed()
            }

            /// `a=tls-id` (RFC 8842 §4).
            pub fn tls_id(&self) -> Option<&str> {
                self.attribute_value("tls-id")
            }

            /// `a=connection` (RFC 4145 §5).
            pub fn connection_mode(&self) -> Option<$crate::ConnectionMode> {
                self.typed()
            }

            /// `a=extmap-allow-mixed` (RFC 8285 §6).
            pub fn extmap_allow_mixed(&self) -> bool {
                self.has_attribute("extmap-allow-mixed")
            }

            /// `a=extmap` lines (RFC 8285 §8).
            pub fn extmaps(&self) -> impl Iterator<Item = $crate::Extmap> + '_ {
                self.typed_all()
            }

            /// The last direction attribute (RFC 8866 §6.7), if any.
            pub fn direction(&self) -> Option<$crate::Direction> {
                self.attributes.iter().rev().find_map(|a| match a.value() {
                    None => $crate::Direction::from_keyword(a.name()),
                    Some(_) => None,
                })
            }

            /// `a=crypto` lines: legacy SDES keying (RFC 4568), not allowed in WebRTC.
            pub fn crypto(&self) -> impl Iterator<Item = $crate::Crypto> + '_ {
                self.typed_all()
            }

            /// Whether any `a=crypto` (legacy SDES) line is present.
            pub fn uses_legacy_sdes(&self) -> bool {
                self.has_attribute("crypto")
            }
        }
    };
}

pub(crate) use attribute_accessors;
